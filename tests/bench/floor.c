/* The socket floor for tests/bench/dns.sh: a UDP "server" that answers each
 * query with the query itself (QR set), through the same loop the built-in
 * server runs: SO_REUSEPORT sockets, one per worker thread, recvmmsg of up to
 * 64 datagrams and one sendmmsg of the replies. What it costs per query is
 * what the kernel costs; a DNS server's qps per core over this one's is the
 * share of the floor it reaches.
 *
 *   cc -O2 -pthread -o floor floor.c && ./floor 127.0.0.1 5300 2
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SIZE 1500

static struct sockaddr_in bind_to;

static void *worker(void *arg) {
	(void)arg;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
	    bind(fd, (struct sockaddr *)&bind_to, sizeof bind_to)) {
		perror("floor: socket");
		exit(1);
	}
	static __thread char bufs[BATCH][SIZE];
	struct sockaddr_in peers[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = SIZE;
			memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &peers[i];
			msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
		}
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("floor: recvmmsg");
			exit(1);
		}
		int k = 0;
		for (int i = 0; i < n; i++) {
			unsigned len = msgs[i].msg_len;
			if (len < 12)
				continue;
			bufs[i][2] |= 0x80; /* QR: a response, rcode NOERROR */
			iov[i].iov_len = len;
			if (k != i)
				msgs[k] = msgs[i];
			msgs[k].msg_hdr.msg_iov = &iov[i];
			k++;
		}
		for (int sent = 0; sent < k;) {
			int m = sendmmsg(fd, msgs + sent, k - sent, 0);
			if (m < 0) {
				if (errno == EINTR)
					continue;
				break; /* a full socket buffer drops the rest, as a server would */
			}
			sent += m;
		}
	}
	return NULL;
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: %s ADDRESS PORT WORKERS\n", argv[0]);
		return 2;
	}
	bind_to.sin_family = AF_INET;
	bind_to.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &bind_to.sin_addr) != 1) {
		fprintf(stderr, "floor: bad address %s\n", argv[1]);
		return 2;
	}
	int workers = atoi(argv[3]);
	if (workers < 1)
		workers = 1;
	signal(SIGPIPE, SIG_IGN);
	pthread_t t;
	for (int i = 1; i < workers; i++)
		pthread_create(&t, NULL, worker, NULL);
	worker(NULL);
	return 0;
}
