/* echo_fstack.h: the echo loop on F-Stack (fstack build tag only). Every
 * call must come from the thread that called pc_ff_init. */
#ifndef PHOTONCTL_ECHO_FSTACK_H
#define PHOTONCTL_ECHO_FSTACK_H

#include "echo.h"

typedef struct pc_ffecho pc_ffecho;

/* pc_ff_init calls ff_init with --conf conf --proc-type=primary --proc-id=0.
 * On any error F-Stack ends the process: Go checks everything first. */
int pc_ff_init(const char *conf);
/* pc_ff_new listens on port (all of F-Stack's addresses). */
pc_ffecho *pc_ff_new(int port, int buffer, int *err, const char **what);
/* pc_ff_run runs ff_run until pc_ff_stop; the loop then closes every socket
 * and calls ff_stop_run from inside itself. */
void pc_ff_run(pc_ffecho *e);
/* pc_ff_stop sets the flag the loop reads; safe from any thread. */
void pc_ff_stop(pc_ffecho *e);
void pc_ff_stats_read(pc_ffecho *e, pc_echo_stats *out);
void pc_ff_free(pc_ffecho *e);

#endif
