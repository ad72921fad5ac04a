// SPDX-License-Identifier: MIT
/*
 * ipam_call: one plugin call from a shell test, over AF_UNIX as dockerd makes it.
 *
 *   ipam_call SOCKET /IpamDriver.RequestPool '{"AddressSpace":"openmpf-local","Pool":""}'
 *
 * Prints "<HTTP status> <body>" on one line; exits 0 for 200, 1 for any other status, 2 when
 * the socket cannot be reached.
 */
#include <stdio.h>
#include <stdlib.h>

#include "testlib.h"

int main(int argc, char **argv)
{
	char *resp = NULL;
	int status;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s SOCKET PATH [BODY]\n", argv[0]);
		return 2;
	}
	status = tl_http_post(argv[1], argv[2], argc == 4 ? argv[3] : NULL, &resp);
	if (status < 0) {
		fprintf(stderr, "ipam_call: cannot reach %s\n", argv[1]);
		return 2;
	}
	printf("%d %s\n", status, resp ? resp : "");
	free(resp);
	return status == 200 ? 0 : 1;
}
