// The control socket's verbs (spool/control_protocol.hpp): list, show,
// hold/release/retry/delete, stats, fetch. Reads go to the reader Store on
// the io thread; writes go through the StoreWriter so they share its group
// commits and never block the io thread on fsync.
// Trusts nothing in a request: every field is type-checked, IDs are only
// ever passed to the store as bound parameters. Who asks is the server's
// word (SO_PEERCRED): an admin may do everything; anyone else may list and
// show their own messages only (submitter = them; another's ID is unknown
// to them), and gets kind 77 for the rest.
//
// Results ({"ok":true,"result":...}):
//   list                     [message, ...]            (DESIGN.md section 5)
//   show {"id","raw":bool}   message + "attempts"; with raw: "raw" (the stored
//                            message; "raw_base64" too when it is not UTF-8)
//   hold|release|retry|delete {"ids":[...]} or {"all":true}
//                            {"ids":[applied IDs]}; unknown IDs: kind 67
//                            "unknown queue ID A, B" after applying the rest
//   stats                    {"queue","relays","mailboxes","submit"}
//   fetch {"mailboxes":[...]} whatever hooks.fetch returns; kind 67 when no
//                            mailbox is configured or a name is unknown
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/net/asio.hpp"
#include "daemon/queue_events.hpp"
#include "spool/config.hpp"
#include "spool/control_protocol.hpp"
#include "spool/store.hpp"
#include "spool/store_writer.hpp"

namespace mailqd {

// Filled in by the parts that are plugged in later; empty means "not there".
struct ControlHooks {
    // The delivery scheduler: recipients now in flight to a configured relay
    // (queued in its pool or in one of its sessions).
    std::function<unsigned(const std::string& relay)> relay_in_flight;
    // The delivery scheduler: an admin asked for a retry (mailqctl retry,
    // sendmail -q), so relays waiting out a failure are tried again now.
    std::function<void()> retry_requested;
    // The POP3 fetcher: fetch the named mailboxes (all when empty) now and
    // return the "result" of the reply, e.g. {"mailboxes":[{"name":..,"new":N}]}.
    std::function<awaitable<Result<Json>>(std::vector<std::string> mailboxes)> fetch;
    // The submit door: what it turned away, by reason ({"user":N,...}).
    std::function<Json()> submit_refusals;
};

// Who sent a request, as the control server found out from the kernel.
struct ControlCaller {
    std::string user;    // the peer's user name (its uid when it has none)
    bool admin = false;  // root, the daemon's user, or in control.socket_group
};

class ControlCommands {
public:
    ControlCommands(Store& reader, StoreWriter& writer, QueueEvents& events, const Config& config,
                    ControlHooks& hooks)
        : reader_(reader), writer_(writer), events_(events), config_(config), hooks_(hooks)
    {
    }

    // One request line in, one response object out. Never throws on bad input.
    awaitable<Json> handle(const std::string& line, const ControlCaller& caller);

private:
    awaitable<Result<Json>> dispatch(const Json& request, const ControlCaller& caller);
    Result<Json> list(const Json& request, const ControlCaller& caller);
    Result<Json> show(const Json& request, const ControlCaller& caller);
    awaitable<Result<Json>> change(const std::string& cmd, const Json& request, const ControlCaller& caller);
    Result<Json> stats();
    awaitable<Result<Json>> fetch(const Json& request);
    Result<std::vector<std::string>> target_ids(const Json& request);

    Store& reader_;
    StoreWriter& writer_;
    QueueEvents& events_;
    const Config& config_;  // the daemon's current one; replaced on reload
    ControlHooks& hooks_;
};

}  // namespace mailqd
