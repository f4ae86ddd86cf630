/* pc_uring.h: the few io_uring definitions the kernel engine's io_uring
 * loop needs, from the kernel's uapi (include/uapi/linux/io_uring.h, a
 * stable ABI). They are carried here because musl-tools, which `make static`
 * builds with, has no linux/ headers, and liburing is not a dependency
 * of photonctl. Names carry a PC_ prefix so that nothing clashes with a
 * <linux/io_uring.h> some other header pulls in. */
#ifndef PHOTONCTL_PC_URING_H
#define PHOTONCTL_PC_URING_H

#include <stdint.h>

/* System call numbers: the same on every architecture (Linux 5.1). */
#define PC_NR_io_uring_setup 425
#define PC_NR_io_uring_enter 426
#define PC_NR_io_uring_register 427

#define PC_SETUP_CQSIZE (1U << 3)
#define PC_SETUP_R_DISABLED (1U << 6)
#define PC_SETUP_SUBMIT_ALL (1U << 7)
#define PC_SETUP_COOP_TASKRUN (1U << 8)
#define PC_SETUP_SINGLE_ISSUER (1U << 12) /* Linux 6.0 */
#define PC_SETUP_DEFER_TASKRUN (1U << 13) /* Linux 6.1 */

#define PC_FEAT_SINGLE_MMAP (1U << 0)
#define PC_FEAT_NODROP (1U << 1)

#define PC_OFF_SQ_RING 0ULL
#define PC_OFF_CQ_RING 0x8000000ULL
#define PC_OFF_SQES 0x10000000ULL

#define PC_ENTER_GETEVENTS (1U << 0)

#define PC_OP_ACCEPT 13
#define PC_OP_ASYNC_CANCEL 14
#define PC_OP_READ 22
#define PC_OP_SEND 26
#define PC_OP_RECV 27

#define PC_SQE_FIXED_FILE (1U << 0)
#define PC_SQE_BUFFER_SELECT (1U << 5)

#define PC_RECV_MULTISHOT (1U << 1)  /* sqe->ioprio of a RECV, Linux 6.0 */
#define PC_ACCEPT_MULTISHOT (1U << 0) /* sqe->ioprio of an ACCEPT, Linux 5.19 */

#define PC_CQE_F_BUFFER (1U << 0)
#define PC_CQE_F_MORE (1U << 1)
#define PC_CQE_BUFFER_SHIFT 16

#define PC_REGISTER_FILES_UPDATE 6
#define PC_REGISTER_ENABLE_RINGS 12
#define PC_REGISTER_FILES2 13
#define PC_REGISTER_PBUF_RING 22 /* Linux 5.19 */
#define PC_RSRC_REGISTER_SPARSE (1U << 0)

struct pc_sqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
	uint64_t resv2;
};

struct pc_cqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
	uint64_t resv2;
};

struct pc_uring_params {
	uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd;
	uint32_t resv[3];
	struct pc_sqring_offsets sq_off;
	struct pc_cqring_offsets cq_off;
};

struct pc_sqe {
	uint8_t opcode;
	uint8_t flags;
	uint16_t ioprio;
	int32_t fd;
	uint64_t off;
	uint64_t addr;
	uint32_t len;
	uint32_t op_flags; /* msg_flags, accept_flags, cancel_flags, ... */
	uint64_t user_data;
	uint16_t buf_group; /* buf_index */
	uint16_t personality;
	int32_t file_index;
	uint64_t addr3;
	uint64_t pad2;
};

struct pc_cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
};

struct pc_rsrc_register {
	uint32_t nr, flags;
	uint64_t resv2, data, tags;
};

struct pc_files_update {
	uint32_t offset, resv;
	uint64_t fds;
};

struct pc_buf {
	uint64_t addr;
	uint32_t len;
	uint16_t bid, resv; /* resv of bufs[0] is the ring's tail */
};

struct pc_buf_reg {
	uint64_t ring_addr;
	uint32_t ring_entries;
	uint16_t bgid, flags;
	uint64_t resv[3];
};

_Static_assert(sizeof(struct pc_sqe) == 64, "io_uring_sqe is 64 bytes");
_Static_assert(sizeof(struct pc_cqe) == 16, "io_uring_cqe is 16 bytes");
_Static_assert(sizeof(struct pc_uring_params) == 120, "io_uring_params is 120 bytes");
_Static_assert(sizeof(struct pc_buf_reg) == 40, "io_uring_buf_reg is 40 bytes");
_Static_assert(sizeof(struct pc_buf) == 16, "io_uring_buf is 16 bytes");

#endif
