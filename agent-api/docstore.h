/* docstore: documents at rest, encrypted with AES-256-GCM under the upload key (from
 * cfg.upload_key, or derived from the installation secret; never in the database).
 *
 * A file is written by appending only, so an upload can resume and a refused chunk can be
 * cut off again. Layout: the 8-byte magic "MTNDOC1\n", then records of
 *     u32 big-endian plaintext length n (1..DOCSTORE_RECORD) | 12-byte nonce | n bytes | 16-byte tag
 * each sealed with a fresh random nonce and, as associated data, the file's id and the
 * plaintext offset of the record: records cannot be reordered, moved between files or
 * dropped from the middle; a cut at the end shows as a size that differs from the one the
 * database recorded. */
#ifndef MITAN_DOCSTORE_H
#define MITAN_DOCSTORE_H

#include <stddef.h>

#define DOCSTORE_RECORD (64 * 1024)
#define DOCSTORE_HEADER 8
#define DOCSTORE_ID_LEN 32 /* lowercase hex */

/* Loads the key and makes the directory (once); 0 when usable. */
int docstore_init(void);
/* 1 if id is 32 lowercase hex characters. */
int docstore_id_ok(const char *id);

/* An append-only writer: `offset` plaintext bytes are in the file, which is `stored`
 * bytes long. Buffers are on the heap (civetweb's worker stacks are small). */
struct docstore_writer {
	int fd;
	char id[DOCSTORE_ID_LEN + 1];
	unsigned char *plain, *sealed;
	size_t fill;      /* plaintext bytes waiting in `plain` */
	long long offset; /* plaintext bytes sealed into the file */
	long long stored; /* file size */
};

/* Creates the file of a new upload (the header only); *stored is its size. */
int docstore_create(const char *id, long long *stored);
/* Opens for appending after `offset` plaintext bytes in `stored` file bytes, cutting off
 * anything beyond (bytes never acknowledged). 0 on success. */
int docstore_open(struct docstore_writer *w, const char *id, long long offset, long long stored);
int docstore_write(struct docstore_writer *w, const void *p, size_t n);
/* Seals what is buffered and makes it durable (fdatasync). */
int docstore_commit(struct docstore_writer *w);
/* Cuts the file back to `stored` bytes (a refused chunk). */
int docstore_truncate(struct docstore_writer *w, long long stored);
void docstore_close(struct docstore_writer *w); /* NULL-safe, idempotent */

/* Decrypts the whole file, which must hold exactly `size` plaintext bytes, handing the
 * plaintext to `sink` in pieces; stops at the first non-zero return of sink. Returns 0,
 * -1 when the file is damaged, missing or was tampered with, or sink's value. */
typedef int (*docstore_sink_fn)(void *ctx, const void *p, size_t n);
int docstore_read(const char *id, long long size, docstore_sink_fn sink, void *ctx);
int docstore_remove(const char *id);

#endif
