/*
 * Entry points of the subcommands of shbuf(1). Each gets argv[0] = its own
 * name and returns the process exit code.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TOOL_COMMANDS_H
#define SHBUF_TOOL_COMMANDS_H

int cmd_cat(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_bench(int argc, char **argv); /* tools/bench/ */

#endif
