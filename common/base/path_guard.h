// The guard on writes and deletions inside one directory tree, the run directory
// (docs/reliability.md, "run_dir and paths"): no symbolic link and no ".." between its root
// and a path a stage writes or deletes. The root itself may be a link (run_dir on scratch);
// a link below it would let a write or a --force deletion land in a folder the run does not
// own (a `shards` link made `nq-shard --force` empty another folder), so it is refused with
// one line naming the link. The check is made just before each write or deletion: it
// catches every link present then, not one made by another process in between.
//
// defines: path_guard_set, path_guard_check
#ifndef NQ_PATH_GUARD_H
#define NQ_PATH_GUARD_H

// Guards the tree under `root` (NULL or "": no guard). A stage sets its run_dir once.
void path_guard_set(const char *root);
// Stops (fatal) when `path` is under the root and one of its components below the root is a
// symbolic link or "..": the directories leading to it and the path itself. Components that
// do not exist yet are fine (they will be made as real files and folders). Paths outside the
// root are not checked.
void path_guard_check(const char *path);

#endif
