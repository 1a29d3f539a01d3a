// The queue database's schema: an ordered list of migrations, each applied
// in its own transaction, with PRAGMA user_version recording how far the
// file has come. Internal to the store (and its tests).
#pragma once

#include <span>

#include "spool/result.hpp"

struct sqlite3;

namespace mailqd {

struct Migration {
    int version;      // user_version after this migration
    const char* sql;  // constant DDL, several statements
};

// In order; the last one's version is the current schema version.
std::span<const Migration> migrations();
int latest_schema_version();

// Reads PRAGMA user_version.
Result<int> read_schema_version(sqlite3* db);

// Applies every migration above the file's version up to target (default:
// the latest). A file newer than this program knows is refused (kind config)
// rather than written to by code that does not understand it.
Status migrate(sqlite3* db, int target = 0);

}  // namespace mailqd
