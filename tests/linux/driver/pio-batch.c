// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pio-batch: Linux driver for QEMU's batched port I/O device
 * (docs/pio-batch.md, include/pio-batch.h).
 *
 * Binds to the ACPI device QEMU0003 (its _CRS gives the 8 ports); when ACPI
 * describes none, probes the documented iobase (module parameter iobase=,
 * default 0x5c0).  Exports pio_batch_run() and uses it for the CMOS
 * real-time clock: an RTC device whose read_time is one batch (an index
 * write and a data read for each register, the update-in-progress wait as
 * a POLL entry): one exit instead of about twenty.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/acpi.h>
#include <linux/bcd.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mc146818rtc.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/rtc.h>

#include "pio-batch.h"
#include "pio-batch-linux.h"

#define DRV_NAME "pio-batch"

/* The device takes the table's page frame number in 32 bits. */
#define PIOB_GFP (GFP_KERNEL | __GFP_ZERO | GFP_DMA32)

static ushort iobase = PIO_BATCH_DEFAULT_IOBASE;
module_param(iobase, ushort, 0444);
MODULE_PARM_DESC(iobase,
		 "iobase probed without an ACPI QEMU0003 (default 0x5c0)");

static bool rtc = true;
module_param(rtc, bool, 0444);
MODULE_PARM_DESC(rtc,
		 "register the CMOS RTC read through pio-batch (default on)");

static bool selftest;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest,
		 "at probe, check that bad batches are refused (default off)");

struct piob_dev {
	struct device *dev;
	u16 iobase;
	u16 max_entries;
	u16 max_poll;
	struct mutex lock;	/* serialises the users of the table in b */
	struct pio_batch b;
};

/* The device that pio_batch_run() uses: the first one bound. */
static struct piob_dev *piob_current;
static DEFINE_MUTEX(piob_current_lock);
static struct platform_device *piob_fallback;

static const char * const piob_errors[] = {
	[PIO_BATCH_OK] = "ok",
	[PIO_BATCH_ERR_VERSION] = "header version",
	[PIO_BATCH_ERR_COUNT] = "count above maximum",
	[PIO_BATCH_ERR_TABLE] = "table not in RAM",
	[PIO_BATCH_ERR_OP] = "unknown operation",
	[PIO_BATCH_ERR_WIDTH] = "bad width",
	[PIO_BATCH_ERR_RESERVED] = "reserved field set",
	[PIO_BATCH_ERR_PORT] = "port past 0xffff",
	[PIO_BATCH_ERR_SELF] = "entry targets pio-batch",
	[PIO_BATCH_ERR_KERNEL_PORT] = "port emulated in the kernel",
	[PIO_BATCH_ERR_POLL_LIMIT] = "bad poll limit",
	[PIO_BATCH_ERR_POLL_TIMEOUT] = "poll timed out",
	[PIO_BATCH_ERR_INTERRUPTED] = "interrupted",
	[PIO_BATCH_ERR_BUDGET] = "accesses above maximum",
	[PIO_BATCH_ERR_TIME] = "time limit reached",
};

static const char *piob_strerror(unsigned int err)
{
	if (err == PIO_BATCH_ERR_NOT_RUN)
		return "no device answered the doorbell";
	if (err < ARRAY_SIZE(piob_errors) && piob_errors[err])
		return piob_errors[err];
	return "unknown";
}

static int piob_run_on(struct piob_dev *p, struct pio_batch_entry *ent,
		       unsigned int count)
{
	unsigned int i, max = min_t(unsigned int, p->max_entries,
				    p->b.capacity);
	int err, ret = 0;

	if (count == 0 || count > max) {
		dev_err_ratelimited(p->dev,
				    "batch of %u entries refused: the device takes 1 to %u\n",
				    count, max);
		return -EINVAL;
	}
	mutex_lock(&p->lock);
	pio_batch_clear(&p->b);
	for (i = 0; i < count; i++)
		pio_batch_queue(&p->b, ent[i].op, ent[i].width, ent[i].port,
				ent[i].data, ent[i].mask, ent[i].limit);
	err = pio_batch_submit(&p->b);
	for (i = 0; i < count; i++) {
		ent[i].result = pio_batch_result(&p->b, i);
		ent[i].reads = pio_batch_reads(&p->b, i);
	}
	if (err != PIO_BATCH_OK) {
		dev_err_ratelimited(p->dev,
				    "batch of %u entries refused: error %d (%s) at entry %u, %u completed\n",
				    count, err, piob_strerror(err),
				    pio_batch_failed_index(&p->b),
				    pio_batch_completed(&p->b));
		ret = -EIO;
	}
	mutex_unlock(&p->lock);
	return ret;
}

/**
 * pio_batch_run() - run a batch of port accesses with one exit
 * @ent: the entries, as include/pio-batch.h defines them; the device
 *	writes each one's result and reads back into it
 * @count: number of entries in @ent
 *
 * Runs the entries in order on the first pio-batch device bound, with one
 * doorbell.  When the device refuses or stops the batch, the results of
 * the entries it completed are written back too.
 *
 * Context: Process context: takes mutexes, the device may poll.
 * Return: 0 when every entry completed; -ENODEV without a device; -EINVAL
 * when @count is 0 or above the device's maximum; -EIO when the device
 * refused or stopped the batch, logged with the entry it stopped at.
 */
int pio_batch_run(struct pio_batch_entry *ent, unsigned int count)
{
	int ret;

	mutex_lock(&piob_current_lock);
	if (piob_current) {
		ret = piob_run_on(piob_current, ent, count);
	} else {
		pr_err_ratelimited("%s: no pio-batch device\n", __func__);
		ret = -ENODEV;
	}
	mutex_unlock(&piob_current_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(pio_batch_run);

/*
 * Bad batches give an error and a log line, never a hang: an empty one,
 * and one that targets pio-batch itself (the device refuses it).
 */
static int piob_selftest(struct piob_dev *p)
{
	struct pio_batch_entry e = {
		.op = PIO_BATCH_OP_OUT,
		.width = 4,
		.port = p->iobase + PIO_BATCH_REG_SUBMIT,
	};
	int empty, self;

	empty = piob_run_on(p, &e, 0);
	self = piob_run_on(p, &e, 1);
	dev_info(p->dev,
		 "selftest: empty batch %d, batch to pio-batch itself %d\n",
		 empty, self);
	return empty == -EINVAL && self == -EIO ? 0 : -EINVAL;
}

/* The CMOS RTC in one batch. */

static const u8 piob_rtc_regs[] = {
	RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_MONTH, RTC_MONTH,
	RTC_YEAR, RTC_CONTROL,
};

#define PIOB_RTC_ENTRIES (2 + 2 * ARRAY_SIZE(piob_rtc_regs))

static void piob_entry(struct pio_batch_entry *e, u8 op, u16 port, u32 data,
		       u32 mask, u16 limit)
{
	memset(e, 0, sizeof(*e));
	e->op = op;
	e->width = 1;
	e->port = port;
	e->data = data;
	e->mask = mask;
	e->limit = limit;
}

static int piob_rtc_read_time(struct device *dev, struct rtc_time *tm)
{
	struct piob_dev *p = dev_get_drvdata(dev);
	struct pio_batch_entry ent[PIOB_RTC_ENTRIES];
	u8 v[ARRAY_SIZE(piob_rtc_regs)], ctrl;
	unsigned int i, n = 0;
	int ret;

	/* Wait out an update in progress, then read every register. */
	piob_entry(&ent[n++], PIO_BATCH_OP_OUT, RTC_PORT(0), RTC_FREQ_SELECT,
		   0, 0);
	piob_entry(&ent[n++], PIO_BATCH_OP_POLL, RTC_PORT(1), 0, RTC_UIP,
		   min_t(u16, p->max_poll, 1000));
	for (i = 0; i < ARRAY_SIZE(piob_rtc_regs); i++) {
		piob_entry(&ent[n++], PIO_BATCH_OP_OUT, RTC_PORT(0),
			   piob_rtc_regs[i], 0, 0);
		piob_entry(&ent[n++], PIO_BATCH_OP_IN, RTC_PORT(1), 0, 0, 0);
	}
	ret = piob_run_on(p, ent, n);
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(piob_rtc_regs); i++)
		v[i] = ent[3 + 2 * i].result;
	ctrl = v[6];
	if (!(ctrl & RTC_DM_BINARY))
		for (i = 0; i < 6; i++)
			v[i] = bcd2bin(v[i]);
	tm->tm_sec = v[0];
	tm->tm_min = v[1];
	tm->tm_hour = v[2];
	tm->tm_mday = v[3];
	tm->tm_mon = v[4] - 1;
	/* As rtc-cmos without a century register: 1970-2069. */
	tm->tm_year = v[5] < 70 ? v[5] + 100 : v[5];
	if (!(ctrl & RTC_24H)) {
		dev_err_ratelimited(dev,
				    "the RTC is in 12-hour mode, which this driver does not read\n");
		return -EINVAL;
	}
	return 0;
}

static const struct rtc_class_ops piob_rtc_ops = {
	.read_time = piob_rtc_read_time,
};

/* Device discovery. */

/*
 * Identify the device at p->iobase: magic and version on the ports, then
 * the limits it writes to a probe page.
 */
static int piob_identify(struct piob_dev *p)
{
	struct pio_batch_probe *probe;
	u32 magic, version;
	int ret = 0;

	magic = inl(p->iobase + PIO_BATCH_REG_SUBMIT);
	if (magic != PIO_BATCH_MAGIC) {
		dev_err(p->dev, "no pio-batch at port %#x: magic %#x, expected %#x\n",
			p->iobase, magic, PIO_BATCH_MAGIC);
		return -ENODEV;
	}
	version = inl(p->iobase + PIO_BATCH_REG_PROBE);
	if (version != PIO_BATCH_VERSION) {
		dev_err(p->dev,
			"pio-batch at port %#x has ABI version %u; this driver knows version %u\n",
			p->iobase, version, PIO_BATCH_VERSION);
		return -ENODEV;
	}
	probe = (void *)get_zeroed_page(PIOB_GFP);
	if (!probe)
		return -ENOMEM;
	if (pio_batch_probe(p->iobase, probe, virt_to_phys(probe))) {
		dev_err(p->dev,
			"pio-batch at port %#x did not answer the probe doorbell\n",
			p->iobase);
		ret = -ENODEV;
	} else {
		p->max_entries = probe->max_entries;
		p->max_poll = probe->max_poll;
	}
	free_page((unsigned long)probe);
	return ret;
}

static int piob_register_rtc(struct piob_dev *p)
{
	struct rtc_device *r;

	if (p->max_entries < PIOB_RTC_ENTRIES) {
		dev_err(p->dev, "the device takes %u entries, the RTC read needs %zu\n",
			p->max_entries, PIOB_RTC_ENTRIES);
		return -ENODEV;
	}
	r = devm_rtc_allocate_device(p->dev);
	if (IS_ERR(r))
		return PTR_ERR(r);
	r->ops = &piob_rtc_ops;
	r->range_min = RTC_TIMESTAMP_BEGIN_2000;
	r->range_max = RTC_TIMESTAMP_END_2099;
	return devm_rtc_register_device(r);
}

static int piob_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct resource *res;
	struct piob_dev *p;
	void *table;
	int ret;

	res = platform_get_resource(pdev, IORESOURCE_IO, 0);
	if (!res || resource_size(res) < PIO_BATCH_IOSIZE) {
		dev_err(dev, "no port range of %u ports in the device's resources\n",
			PIO_BATCH_IOSIZE);
		return -ENODEV;
	}
	p = devm_kzalloc(dev, sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->dev = dev;
	p->iobase = res->start;
	mutex_init(&p->lock);
	if (!devm_request_region(dev, p->iobase, PIO_BATCH_IOSIZE, DRV_NAME)) {
		dev_err(dev, "ports %#x-%#x are in use\n", p->iobase,
			p->iobase + PIO_BATCH_IOSIZE - 1);
		return -EBUSY;
	}
	ret = piob_identify(p);
	if (ret)
		return ret;
	table = (void *)devm_get_free_pages(dev, PIOB_GFP, 0);
	if (!table)
		return -ENOMEM;
	if (pio_batch_init(&p->b, table, virt_to_phys(table), PAGE_SIZE,
			   p->iobase)) {
		dev_err(dev, "the table page is not usable by the device\n");
		return -EINVAL;
	}
	platform_set_drvdata(pdev, p);
	if (selftest) {
		ret = piob_selftest(p);
		if (ret) {
			dev_err(dev, "selftest failed\n");
			return ret;
		}
	}
	if (rtc) {
		ret = piob_register_rtc(p);
		if (ret)
			return ret;
	}
	mutex_lock(&piob_current_lock);
	if (!piob_current)
		piob_current = p;
	mutex_unlock(&piob_current_lock);
	dev_info(dev, "pio-batch ABI %u at ports %#x-%#x: %u entries, poll limit %u%s\n",
		 PIO_BATCH_VERSION, p->iobase,
		 p->iobase + PIO_BATCH_IOSIZE - 1, p->max_entries, p->max_poll,
		 rtc ? ", CMOS RTC through it" : "");
	return 0;
}

static int piob_remove(struct platform_device *pdev)
{
	struct piob_dev *p = platform_get_drvdata(pdev);

	mutex_lock(&piob_current_lock);
	if (piob_current == p)
		piob_current = NULL;
	mutex_unlock(&piob_current_lock);
	return 0;
}

static const struct acpi_device_id piob_acpi_ids[] = {
	{ PIO_BATCH_ACPI_HID, 0 },
	{ }
};
MODULE_DEVICE_TABLE(acpi, piob_acpi_ids);

static struct platform_driver piob_driver = {
	.probe = piob_probe,
	.remove = piob_remove,
	.driver = {
		.name = DRV_NAME,
		.acpi_match_table = piob_acpi_ids,
	},
};

static bool piob_bound(void)
{
	bool bound;

	mutex_lock(&piob_current_lock);
	bound = piob_current;
	mutex_unlock(&piob_current_lock);
	return bound;
}

static int __init piob_init(void)
{
	struct resource res = DEFINE_RES_IO(iobase, PIO_BATCH_IOSIZE);
	int ret;

	ret = platform_driver_register(&piob_driver);
	if (ret)
		return ret;
	if (piob_bound())
		return 0;
	/*
	 * A device that ACPI describes but that did not bind (its probe logged
	 * why) is not looked for at the default iobase.
	 */
	if (acpi_dev_present(PIO_BATCH_ACPI_HID, NULL, -1)) {
		pr_err("no pio-batch device: the ACPI %s device did not bind\n",
		       PIO_BATCH_ACPI_HID);
		ret = -ENODEV;
		goto err_driver;
	}
	pr_info("no ACPI %s device bound; probing port %#x\n",
		PIO_BATCH_ACPI_HID, iobase);
	piob_fallback = platform_device_register_simple(DRV_NAME, -1, &res, 1);
	if (IS_ERR(piob_fallback)) {
		ret = PTR_ERR(piob_fallback);
		piob_fallback = NULL;
		goto err_driver;
	}
	if (piob_bound())
		return 0;
	pr_err("no pio-batch device: none in ACPI (%s), none answering at port %#x\n",
	       PIO_BATCH_ACPI_HID, iobase);
	ret = -ENODEV;
	platform_device_unregister(piob_fallback);
	piob_fallback = NULL;
err_driver:
	platform_driver_unregister(&piob_driver);
	return ret;
}

static void __exit piob_exit(void)
{
	if (piob_fallback)
		platform_device_unregister(piob_fallback);
	platform_driver_unregister(&piob_driver);
}

module_init(piob_init);
module_exit(piob_exit);

MODULE_DESCRIPTION("QEMU pio-batch: batched port I/O, an RTC read through it");
MODULE_LICENSE("GPL");
