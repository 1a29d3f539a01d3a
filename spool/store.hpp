// The durable queue: the only code in mailqd that speaks SQL.
// SQLite in WAL mode with synchronous=FULL; the schema is versioned with
// PRAGMA user_version and migrated forward on open. Calls are small and
// verb-shaped; none of them knows about sockets, config files or SMTP.
// A Store is one connection and is used by one thread at a time: the daemon
// keeps one for reads on its I/O thread and one inside the StoreWriter.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spool/queue_types.hpp"
#include "spool/result.hpp"

struct sqlite3;

namespace mailqd {

class Statement;
class StatementCache;

// One recipient due for delivery, as the scheduler sees it.
struct DueRecipient {
    std::int64_t recipient_id = 0;
    std::string message_id;
    std::string sender;
    std::string address;
    int attempts = 0;       // attempts made so far
    TimePoint received_at;  // for lifetime
    TimePoint next_attempt_at;
    MessageDsn message_dsn;  // the message's RET and ENVID
    RecipientDsn dsn;        // this recipient's NOTIFY and ORCPT
};

// Where a reading of due() stopped: due() ranks recipients by (next attempt,
// recipient ID), and the next reading can start after the last one taken.
struct DueCursor {
    TimePoint next_attempt_at;
    std::int64_t recipient_id = 0;
};

// What a delivery needs just before it is sent: the text, and the state of
// each recipient now (one may have been held or settled since it was due).
struct SendableMessage {
    std::string data;
    std::vector<std::pair<std::int64_t, RecipientState>> recipients;  // by recipient ID
};

// The outcome of one attempt for one recipient, as the classifier decided it.
struct AttemptOutcome {
    std::int64_t recipient_id = 0;
    std::string relay;
    RecipientState state = RecipientState::deferred;  // sent, deferred or failed
    std::string reply;                                // server text or local reason
    std::optional<TimePoint> next_attempt_at;         // when deferred
};

class Store {
public:
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // create: the daemon's start, making the file (and its directory) when
    // missing; existing: a re-open, which must not put an empty queue where
    // the admin moved the real one away.
    enum class OpenMode { create, existing };
    // Opens and migrates. Sets WAL, synchronous=FULL, foreign keys and a
    // busy timeout.
    static Result<std::unique_ptr<Store>> open(const std::filesystem::path& database,
                                               OpenMode mode = OpenMode::create);

    // Why this connection cannot take writes, when that is known without
    // trying: SQLite opened the file read-only (it could not open it for
    // writing), or the file is no longer the one at its path (moved, deleted
    // or replaced under the daemon: what is written would be lost with it).
    // A re-open may cure both. nullopt when neither holds.
    std::optional<std::string> write_fault() const;

    int schema_version() const;
    // True between begin() and commit()/rollback() (false also after SQLite
    // rolled a transaction back by itself, e.g. on a full disk).
    bool in_transaction() const;

    // Transactions, used by the StoreWriter to group commits.
    Status begin();
    Status commit();
    void rollback();
    // Savepoints, so one bad job does not undo the others in its batch.
    // rollback_to_savepoint() also releases it: every savepoint() is ended
    // by exactly one release_savepoint() or rollback_to_savepoint().
    Status savepoint();
    Status release_savepoint();
    void rollback_to_savepoint();
    // Every verb below is atomic on its own: outside a transaction it runs
    // in its own, inside one (the StoreWriter's) under a savepoint.

    // --- intake ---
    // Inserts a message with all recipients queued and due now. Returns the
    // new queue ID. If spool_key is set and already known, returns the ID of
    // the message queued from that file before (a crash between commit and
    // unlink must not queue it twice).
    Result<std::string> accept(const NewMessage& message, TimePoint now);
    std::optional<std::string> find_by_spool_key(const std::string& spool_key);

    // --- scheduling ---
    // Recipients in queued or deferred state with next attempt <= now, oldest
    // first, at most limit; only those ranked after `after` when given.
    Result<std::vector<DueRecipient>> due(TimePoint now, std::size_t limit,
                                          std::optional<DueCursor> after = std::nullopt);
    // Earliest next attempt among queued/deferred recipients (nullopt when
    // none, or on a database error).
    std::optional<TimePoint> next_due_time();
    // The same among next attempts later than after: the scheduler's next
    // wake-up once everything due by then is in its hands (in flight).
    std::optional<TimePoint> next_due_time(TimePoint after);
    // One attempt for one recipient: attempts + 1, state, last reply, next
    // attempt (deferred: outcome.next_attempt_at, else now; otherwise none),
    // a row of attempt history and the relay's counters. The message is done
    // when every recipient is sent or failed. A recipient held while the
    // attempt was in flight stays held if the attempt deferred it.
    // Errors: not_found (recipient gone, e.g. the message was deleted),
    // usage (state not sent/deferred/failed), failure (recipient already done).
    Status record_attempt(const AttemptOutcome& outcome, TimePoint now);
    Result<std::string> message_data(const std::string& id);
    // The text and recipient states of one message, from one snapshot;
    // not_found if it was deleted.
    Result<SendableMessage> sendable(const std::string& id);

    // --- admin ---
    // Oldest first, with recipients (no attempt history); state filters by
    // message state (MessageInfo::state()).
    // submitter: only that local user's messages (a non-admin's mailq).
    Result<std::vector<MessageInfo>> list(std::optional<RecipientState> state,
                                          const std::optional<std::string>& submitter = std::nullopt);
    Result<MessageInfo> show(const std::string& id);  // with attempts; not_found if unknown
    Status hold(const std::string& id);               // queued/deferred -> held; not_found if unknown
    Status release(const std::string& id);            // held -> queued, due now
    Status retry(const std::string& id);              // deferred -> due now
    // The same with an explicit "now" (tests, and callers that have one).
    Status release(const std::string& id, TimePoint now);
    Status retry(const std::string& id, TimePoint now);
    Result<std::vector<std::string>> not_done_ids();  // oldest first
    Status remove(const std::string& id);             // with recipients and history; not_found if unknown
    // Removes messages whose done time is before cutoff (now - keep_done);
    // returns how many. Relay totals are kept.
    Result<std::size_t> purge_done(TimePoint cutoff);
    // Messages by message state; oldest_age_s of messages not done.
    Result<QueueCounts> counts(TimePoint now);
    Result<std::vector<RelayTotals>> relay_totals();  // ordered by name

    // --- POP3 bookkeeping ---
    bool uidl_known(const std::string& mailbox, const std::string& uidl);
    Status record_uidl(const std::string& mailbox, const std::string& uidl, TimePoint now);
    // Forgets UIDLs of the mailbox that are not in present.
    Status forget_uidls_except(const std::string& mailbox, const std::vector<std::string>& present);
    // fetched is added to the mailbox's running total; error replaces the
    // last error (nullopt clears it).
    Status record_fetch(const std::string& mailbox, TimePoint at, std::uint64_t fetched,
                        const std::optional<std::string>& error);
    Result<std::vector<MailboxTotals>> mailbox_totals();  // ordered by name

    // --- WAL upkeep (store_wal.cpp), for the StoreWriter ---
    // After each commit of this connection, observer gets the number of
    // frames in the WAL. Setting it turns SQLite's automatic checkpoint off
    // for this connection: whoever observes decides when to checkpoint.
    void on_wal_commit(std::function<void(int frames)> observer);
    struct WalCheckpoint {
        int wal_frames = 0;    // frames in the WAL
        int checkpointed = 0;  // of which now copied into the database
    };
    // Copies committed WAL frames into the database file (PASSIVE: waits
    // for no reader; frames a reader still uses are left for next time).
    Result<WalCheckpoint> checkpoint();

    // Caps the database file at pages * page size, so tests can make the
    // disk "full" (SQLITE_FULL -> ErrorKind::temporary). 0 restores the default.
    Status limit_size_for_tests(std::uint64_t pages);

private:
    explicit Store(sqlite3* db);
    Result<Statement> sql(const char* text);
    // BEGIN, COMMIT, SAVEPOINT and their kin, prepared once: they run for
    // every job the writer commits.
    Status control(const char* text);
    // Runs body atomically: BEGIN IMMEDIATE/COMMIT when outside a
    // transaction, a savepoint inside one (write = false: a plain BEGIN, for
    // reads that must see one snapshot).
    Status atomically(const std::function<Status()>& body, bool write = true);
    Result<std::optional<std::string>> lookup_spool_key(const std::string& spool_key);
    Result<std::string> new_queue_id();
    Status insert_message(const std::string& id, const NewMessage& message, TimePoint now);
    Status apply_outcome(const AttemptOutcome& outcome, TimePoint now);
    Status require_message(const std::string& id);
    Status set_recipients(const std::string& id, const char* update_sql, TimePoint now);

    sqlite3* db_;
    std::filesystem::path path_;
    std::uint64_t device_ = 0, inode_ = 0;  // of the file opened, to notice a move
    std::unique_ptr<StatementCache> statements_;
    std::uint64_t last_queue_id_ = 0;  // new_queue_id() never goes below it
    std::function<void(int)> wal_observer_;
};

}  // namespace mailqd
