/* Minimal libintl stand-in: no translation, every call returns its msgid. */
#ifndef LIBINTL_STANDIN_H
#define LIBINTL_STANDIN_H
#include <locale.h>
#ifndef LC_MESSAGES
# define LC_MESSAGES 1729
#endif
#ifdef __cplusplus
extern "C" {
#endif
char *gettext(const char *msgid) __attribute__((format_arg(1)));
char *dgettext(const char *domain, const char *msgid) __attribute__((format_arg(2)));
char *dcgettext(const char *domain, const char *msgid, int category) __attribute__((format_arg(2)));
char *ngettext(const char *msgid, const char *msgid_plural, unsigned long n) __attribute__((format_arg(1), format_arg(2)));
char *dngettext(const char *domain, const char *msgid, const char *msgid_plural, unsigned long n) __attribute__((format_arg(2), format_arg(3)));
char *dcngettext(const char *domain, const char *msgid, const char *msgid_plural, unsigned long n, int category) __attribute__((format_arg(2), format_arg(3)));
char *textdomain(const char *domainname);
char *bindtextdomain(const char *domainname, const char *dirname);
char *bind_textdomain_codeset(const char *domainname, const char *codeset);
#ifdef __cplusplus
}
#endif
#endif
