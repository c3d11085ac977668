#include "agent-api/docstore.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "util.h"

#define DOCSTORE_MAGIC    "MTNDOC1\n"
#define DOCSTORE_OVERHEAD (4 + CRYPTO_GCM_NONCE_LEN + CRYPTO_GCM_TAG_LEN)
#define DOCSTORE_DIR_MAX  4096
#define DOCSTORE_PATH_MAX (DOCSTORE_DIR_MAX + 1 + DOCSTORE_ID_LEN + sizeof ".enc") /* dir/id.enc */

static unsigned char docstore_key[CRYPTO_GCM_KEY_LEN];
static char docstore_dir[DOCSTORE_DIR_MAX];
static int docstore_ready;
static pthread_once_t docstore_once = PTHREAD_ONCE_INIT;

static int docstore_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void docstore_setup(void)
{
	static const char label[] = "aes-256-gcm documents at rest";
	if (cfg.upload_key && cfg.upload_key[0]) {
		if (strlen(cfg.upload_key) != 2 * CRYPTO_GCM_KEY_LEN) {
			log_error("docstore: upload_key must be %d hex characters; uploads are refused",
			          2 * CRYPTO_GCM_KEY_LEN);
			return;
		}
		for (size_t i = 0; i < CRYPTO_GCM_KEY_LEN; i++) {
			int hi = docstore_hexval(cfg.upload_key[2 * i]),
			    lo = docstore_hexval(cfg.upload_key[2 * i + 1]);
			if (hi < 0 || lo < 0) {
				log_error("docstore: upload_key must be %d hex characters; uploads are refused",
				          2 * CRYPTO_GCM_KEY_LEN);
				return;
			}
			docstore_key[i] = (unsigned char)(hi << 4 | lo);
		}
	} else {
		unsigned char mac[CRYPTO_SHA256_LEN];
		crypto_secret_hmac("upload-key", label, sizeof label - 1, mac);
		memcpy(docstore_key, mac, sizeof docstore_key);
		OPENSSL_cleanse(mac, sizeof mac);
	}
	if (cfg.upload_dir && cfg.upload_dir[0])
		snprintf(docstore_dir, sizeof docstore_dir, "%s", cfg.upload_dir);
	else
		snprintf(docstore_dir, sizeof docstore_dir, "%s/uploads", cfg.data);
	if (mkdir(docstore_dir, 0700) != 0 && errno != EEXIST) {
		log_error("docstore: cannot make %s: %s", docstore_dir, strerror(errno));
		return;
	}
	docstore_ready = 1;
}

int docstore_init(void)
{
	pthread_once(&docstore_once, docstore_setup);
	return docstore_ready ? 0 : -1;
}

int docstore_id_ok(const char *id)
{
	return id && strlen(id) == DOCSTORE_ID_LEN && strspn(id, "0123456789abcdef") == DOCSTORE_ID_LEN;
}

static int docstore_path(const char *id, char *out, size_t outlen)
{
	if (!docstore_id_ok(id) || docstore_init() != 0)
		return -1;
	int n = snprintf(out, outlen, "%s/%s.enc", docstore_dir, id);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* The associated data of a record: the file id and the record's plaintext offset. */
static void docstore_aad(const char *id, long long offset, unsigned char aad[DOCSTORE_ID_LEN + 8])
{
	memcpy(aad, id, DOCSTORE_ID_LEN);
	for (int i = 0; i < 8; i++)
		aad[DOCSTORE_ID_LEN + i] = (unsigned char)((unsigned long long)offset >> (56 - 8 * i));
}

static int docstore_write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int docstore_create(const char *id, long long *stored)
{
	char path[DOCSTORE_PATH_MAX];
	int rc = -1;
	if (docstore_path(id, path, sizeof path) != 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("docstore: cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (docstore_write_all(fd, (const unsigned char *)DOCSTORE_MAGIC, DOCSTORE_HEADER) == 0 && fdatasync(fd) == 0) {
		*stored = DOCSTORE_HEADER;
		rc = 0;
	}
	close(fd);
	if (rc != 0)
		unlink(path);
	return rc;
}

int docstore_open(struct docstore_writer *w, const char *id, long long offset, long long stored)
{
	char path[DOCSTORE_PATH_MAX];
	struct stat st;
	memset(w, 0, sizeof *w);
	w->fd = -1;
	if (docstore_path(id, path, sizeof path) != 0 || stored < DOCSTORE_HEADER)
		return -1;
	w->fd = open(path, O_WRONLY | O_CLOEXEC);
	if (w->fd < 0 || fstat(w->fd, &st) != 0 || st.st_size < stored) {
		log_error("docstore: %s is missing or shorter than recorded", path);
		docstore_close(w);
		return -1;
	}
	if (st.st_size > stored && ftruncate(w->fd, stored) != 0) {
		docstore_close(w);
		return -1;
	}
	if (lseek(w->fd, stored, SEEK_SET) != stored) {
		docstore_close(w);
		return -1;
	}
	snprintf(w->id, sizeof w->id, "%s", id);
	w->plain = xmalloc(DOCSTORE_RECORD);
	w->sealed = xmalloc(DOCSTORE_RECORD + DOCSTORE_OVERHEAD);
	w->offset = offset;
	w->stored = stored;
	return 0;
}

/* Seals the buffered plaintext as one record and appends it. */
static int docstore_seal(struct docstore_writer *w)
{
	unsigned char aad[DOCSTORE_ID_LEN + 8];
	unsigned char *rec = w->sealed;
	size_t n = w->fill;
	if (!n)
		return 0;
	rec[0] = (unsigned char)(n >> 24);
	rec[1] = (unsigned char)(n >> 16);
	rec[2] = (unsigned char)(n >> 8);
	rec[3] = (unsigned char)n;
	docstore_aad(w->id, w->offset, aad);
	if (crypto_random(rec + 4, CRYPTO_GCM_NONCE_LEN) != 0 ||
	    crypto_gcm_seal(docstore_key, rec + 4, aad, sizeof aad, w->plain, n, rec + 4 + CRYPTO_GCM_NONCE_LEN,
	                    rec + 4 + CRYPTO_GCM_NONCE_LEN + n) != 0 ||
	    docstore_write_all(w->fd, rec, n + DOCSTORE_OVERHEAD) != 0)
		return -1;
	OPENSSL_cleanse(w->plain, n);
	w->offset += (long long)n;
	w->stored += (long long)(n + DOCSTORE_OVERHEAD);
	w->fill = 0;
	return 0;
}

int docstore_write(struct docstore_writer *w, const void *p, size_t n)
{
	const unsigned char *s = p;
	while (n) {
		size_t take = DOCSTORE_RECORD - w->fill;
		if (take > n)
			take = n;
		memcpy(w->plain + w->fill, s, take);
		w->fill += take;
		s += take;
		n -= take;
		if (w->fill == DOCSTORE_RECORD && docstore_seal(w) != 0)
			return -1;
	}
	return 0;
}

int docstore_commit(struct docstore_writer *w)
{
	if (docstore_seal(w) != 0)
		return -1;
	return fdatasync(w->fd) == 0 ? 0 : -1;
}

int docstore_truncate(struct docstore_writer *w, long long stored)
{
	w->fill = 0;
	if (ftruncate(w->fd, stored) != 0 || lseek(w->fd, stored, SEEK_SET) != stored)
		return -1;
	w->stored = stored;
	return fdatasync(w->fd) == 0 ? 0 : -1;
}

void docstore_close(struct docstore_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->plain)
		OPENSSL_cleanse(w->plain, DOCSTORE_RECORD);
	free(w->plain);
	free(w->sealed);
	w->plain = w->sealed = NULL;
}

static int docstore_read_all(int fd, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int docstore_read(const char *id, long long size, docstore_sink_fn sink, void *ctx)
{
	char path[DOCSTORE_PATH_MAX];
	unsigned char head[DOCSTORE_HEADER], aad[DOCSTORE_ID_LEN + 8];
	unsigned char *rec = NULL, *plain = NULL;
	long long offset = 0;
	int rc = -1, fd = -1;

	if (docstore_path(id, path, sizeof path) != 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || docstore_read_all(fd, head, sizeof head) != 0 ||
	    memcmp(head, DOCSTORE_MAGIC, DOCSTORE_HEADER) != 0)
		goto out;
	rec = xmalloc(DOCSTORE_RECORD + DOCSTORE_OVERHEAD);
	plain = xmalloc(DOCSTORE_RECORD);
	while (offset < size) {
		if (docstore_read_all(fd, rec, 4) != 0)
			goto out;
		size_t n = (size_t)rec[0] << 24 | (size_t)rec[1] << 16 | (size_t)rec[2] << 8 | rec[3];
		if (n == 0 || n > DOCSTORE_RECORD || (long long)n > size - offset ||
		    docstore_read_all(fd, rec + 4, n + CRYPTO_GCM_NONCE_LEN + CRYPTO_GCM_TAG_LEN) != 0)
			goto out;
		docstore_aad(id, offset, aad);
		if (crypto_gcm_open(docstore_key, rec + 4, aad, sizeof aad, rec + 4 + CRYPTO_GCM_NONCE_LEN, n, plain,
		                    rec + 4 + CRYPTO_GCM_NONCE_LEN + n) != 0) {
			log_error("docstore: %s does not authenticate at offset %lld", id, offset);
			goto out;
		}
		offset += (long long)n;
		int s = sink(ctx, plain, n);
		if (s != 0) {
			rc = s;
			goto out;
		}
	}
	/* Exactly `size` bytes, and nothing after them. */
	if (read(fd, head, 1) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (plain)
		OPENSSL_cleanse(plain, DOCSTORE_RECORD);
	free(plain);
	free(rec);
	return rc;
}

int docstore_remove(const char *id)
{
	char path[DOCSTORE_PATH_MAX];
	if (docstore_path(id, path, sizeof path) != 0)
		return -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}
