// SPDX-License-Identifier: MIT
/*
 * privs: capability sets via capget/capset and prctl (see privs.h). No library: the
 * kernel interface is three calls, and libcap would be one more runtime dependency in
 * the plugins' scratch root file systems.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "log.h"
#include "privs.h"

static const char *const cap_names[] = {
	"chown",
	"dac_override",
	"dac_read_search",
	"fowner",
	"fsetid",
	"kill",
	"setgid",
	"setuid",
	"setpcap",
	"linux_immutable",
	"net_bind_service",
	"net_broadcast",
	"net_admin",
	"net_raw",
	"ipc_lock",
	"ipc_owner",
	"sys_module",
	"sys_rawio",
	"sys_chroot",
	"sys_ptrace",
	"sys_pacct",
	"sys_admin",
	"sys_boot",
	"sys_nice",
	"sys_resource",
	"sys_time",
	"sys_tty_config",
	"mknod",
	"lease",
	"audit_write",
	"audit_control",
	"setfcap",
	"mac_override",
	"mac_admin",
	"syslog",
	"wake_alarm",
	"block_suspend",
	"audit_read",
	"perfmon",
	"bpf",
	"checkpoint_restore",
};

static int cap_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};

	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

static bool wanted(int cap, const int *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++) {
		if (keep[i] == cap)
			return true;
	}
	return false;
}

int privs_limit(const int *keep, size_t nkeep, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	uint32_t mask[2] = {0, 0};
	int ret;

	for (size_t i = 0; i < nkeep; i++) {
		if (keep[i] >= 0 && keep[i] < 64)
			mask[keep[i] / 32] |= 1u << (keep[i] % 32);
	}
	/* Bounding set first: dropping needs CAP_SETPCAP, which goes below. */
	for (int cap = 0; cap < 64; cap++) {
		if (wanted(cap, keep, nkeep))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) <= 0)
			continue; /* not in the set, or beyond this kernel's last capability */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM) {
			ret = -errno;
			snprintf(err, errlen, "drop capability %d from the bounding set: %s", cap,
				 errno_text(-ret));
			return ret;
		}
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	ret = cap_get(data);
	if (ret < 0) {
		snprintf(err, errlen, "capget: %s", errno_text(-ret));
		return ret;
	}
	for (int i = 0; i < 2; i++) {
		data[i].permitted &= mask[i];
		data[i].effective &= mask[i];
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) < 0) {
		ret = -errno;
		snprintf(err, errlen, "capset: %s", errno_text(-ret));
		return ret;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "no_new_privs: %s", errno_text(-ret));
		return ret;
	}
	return 0;
}

char *privs_format(char *buf, size_t len)
{
	struct __user_cap_data_struct data[2];
	size_t used = 0;

	buf[0] = '\0';
	if (cap_get(data) == 0) {
		for (int cap = 0; cap < 64; cap++) {
			int n;

			if (!(data[cap / 32].effective & (1u << (cap % 32))))
				continue;
			if ((size_t)cap < sizeof(cap_names) / sizeof(cap_names[0]))
				n = snprintf(buf + used, len - used, "%scap_%s", used ? "," : "",
					     cap_names[cap]);
			else
				n = snprintf(buf + used, len - used, "%scap_%d", used ? "," : "",
					     cap);
			if (n < 0 || (size_t)n >= len - used)
				break;
			used += (size_t)n;
		}
	}
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}
