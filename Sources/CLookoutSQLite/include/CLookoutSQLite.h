// SQLite's C API (the system's libsqlite3, 3.37 or newer), for LookoutEvents' store. SQLITE_TRANSIENT and
// SQLITE_STATIC are casts of integers to function pointers, which Swift cannot import: the binds that need them are
// wrapped here.
#ifndef CLOOKOUT_SQLITE_H
#define CLOOKOUT_SQLITE_H

#include <sqlite3.h>

/// Binds text that SQLite copies before returning (SQLITE_TRANSIENT).
int lookout_sqlite_bind_text(sqlite3_stmt *statement, int index, const char *text, int bytes);
/// Binds a blob that SQLite copies before returning (SQLITE_TRANSIENT).
int lookout_sqlite_bind_blob(sqlite3_stmt *statement, int index, const void *bytes, int count);

#endif
