/* guest.h -- internal interfaces of the ffwd-guest utility. */
#ifndef FFWD_GUEST_H
#define FFWD_GUEST_H

/* Write "@ffwd: EVENT [TEXT]" to the console (see protocol.h). */
void guest_event(const char *event, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sync, announce and power off; never returns. */
void guest_poweroff(void) __attribute__((noreturn));
/* The initramfs init (init.c). */
int guest_init_main(int argc, char **argv);

#endif
