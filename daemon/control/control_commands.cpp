// See control_commands.hpp.
#include "daemon/control/control_commands.hpp"

#include <optional>

#include <spdlog/spdlog.h>

#include "daemon/store_async.hpp"
#include "spool/mime/mime_encoding.hpp"
#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

Error usage(std::string message) { return make_error(ErrorKind::usage, std::move(message)); }

Error unknown_ids(const std::vector<std::string>& ids)
{
    std::string text = "unknown queue ID ";
    for (std::size_t i = 0; i < ids.size(); ++i) text += (i ? ", " : "") + ids[i];
    return make_error(ErrorKind::not_found, text);
}

// A true/false member: absent or null is false; another type is a usage
// error (nlohmann's value() would throw and drop the session unanswered).
Result<bool> flag(const Json& request, const char* key)
{
    auto it = request.find(key);
    if (it == request.end() || it->is_null()) return false;
    if (!it->is_boolean()) return usage(std::string("\"") + key + "\" must be true or false");
    return it->get<bool>();
}

// The command's name for a log line, whatever the client put there.
std::string command_name(const Json& request)
{
    auto it = request.find("cmd");
    return it != request.end() && it->is_string() ? printable(it->get<std::string>(), 40) : "?";
}

bool valid_utf8(const std::string& text)
{
    try {
        (void)Json(text).dump();
        return true;
    } catch (const Json::type_error&) {
        return false;
    }
}

using StoreOp = Status (Store::*)(const std::string&);

StoreOp store_op(const std::string& cmd)
{
    if (cmd == "hold") return &Store::hold;
    if (cmd == "release") return &Store::release;
    if (cmd == "retry") return &Store::retry;
    return &Store::remove;
}

struct ChangeOutcome {
    std::vector<std::string> done, unknown;
};

}  // namespace

awaitable<Json> ControlCommands::handle(const std::string& line, const ControlCaller& caller)
{
    Json request = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object())
        co_return error_response(usage("request is not a JSON object"));
    std::optional<Result<Json>> answered;
    try {
        answered.emplace(co_await dispatch(request, caller));
    } catch (const Json::exception& e) {
        // A type this code forgot to check: an answer, not a dropped session.
        spdlog::error("control {}: {}", command_name(request), e.what());
        answered.emplace(usage("malformed request"));
    }
    Result<Json>& result = *answered;
    if (!result) {
        spdlog::debug("control {}: {}", command_name(request), result.error().message);
        co_return error_response(result.error());
    }
    co_return ok_response(std::move(*result));
}

awaitable<Result<Json>> ControlCommands::dispatch(const Json& request, const ControlCaller& caller)
{
    const auto cmd_it = request.find("cmd");
    if (cmd_it == request.end() || !cmd_it->is_string()) co_return usage("request without \"cmd\"");
    const std::string cmd = *cmd_it;
    if (cmd == "list") co_return list(request, caller);
    if (cmd == "show") co_return show(request, caller);
    const bool known = cmd == "stats" || cmd == "hold" || cmd == "release" || cmd == "retry" ||
                       cmd == "delete" || cmd == "fetch";
    if (!known) co_return usage("unknown command " + cmd);
    if (!caller.admin) {
        spdlog::warn("control {}: refused to {} (not an admin)", printable(cmd, 40), caller.user);
        const std::string& group = config_.control.socket_group;
        co_return make_error(ErrorKind::permission,
                             "only admins may " + cmd + " (root" +
                                 (group.empty() ? std::string() : " and members of group " + group) +
                                 "); you are " + caller.user);
    }
    if (cmd == "stats") co_return stats();
    if (cmd == "fetch") co_return co_await fetch(request);
    co_return co_await change(cmd, request, caller);
}

Result<Json> ControlCommands::list(const Json& request, const ControlCaller& caller)
{
    std::optional<RecipientState> state;
    if (auto it = request.find("state"); it != request.end() && !it->is_null()) {
        if (!it->is_string()) return usage("\"state\" must be a string");
        state = recipient_state_from(it->get<std::string>());
        if (!state) return usage("unknown state " + it->get<std::string>());
    }
    std::optional<std::string> only;
    if (!caller.admin) only = caller.user;
    auto messages = reader_.list(state, only);
    if (!messages) return messages.error();
    Json out = Json::array();
    for (const auto& message : *messages) out.push_back(to_json(message, false));
    return out;
}

Result<Json> ControlCommands::show(const Json& request, const ControlCaller& caller)
{
    auto it = request.find("id");
    if (it == request.end() || !it->is_string()) return usage("show needs an \"id\"");
    const std::string id = *it;
    auto message = reader_.show(id);
    if (!message) {
        if (message.error().kind == ErrorKind::not_found) return unknown_ids({id});
        return message.error();
    }
    // Another user's message does not exist for a non-admin: not even its ID
    // is confirmed.
    if (!caller.admin && message->submitter != caller.user) return unknown_ids({id});
    Json out = to_json(*message, true);
    auto raw = flag(request, "raw");
    if (!raw) return raw.error();
    if (*raw) {
        auto data = reader_.message_data(id);
        if (!data) return data.error();
        // JSON strings are UTF-8: 8-bit mail is also sent exactly, as base64.
        if (!valid_utf8(*data)) out["raw_base64"] = base64_encode(*data, 0);
        out["raw"] = std::move(*data);
    }
    return out;
}

Result<std::vector<std::string>> ControlCommands::target_ids(const Json& request)
{
    auto all = flag(request, "all");
    if (!all) return all.error();
    if (*all) return reader_.not_done_ids();
    auto it = request.find("ids");
    if (it == request.end() || !it->is_array() || it->empty()) return usage("give queue IDs or \"all\"");
    std::vector<std::string> ids;
    for (const auto& id : *it) {
        if (!id.is_string()) return usage("queue IDs must be strings");
        ids.push_back(id.get<std::string>());
    }
    return ids;
}

awaitable<Result<Json>> ControlCommands::change(const std::string& cmd, const Json& request,
                                                const ControlCaller& caller)
{
    auto ids = target_ids(request);
    if (!ids) co_return ids.error();
    const StoreOp op = store_op(cmd);
    // Applies to the known IDs and reports the unknown ones; any other
    // error rolls the whole request back.
    auto job = [ids = *ids, op](Store& store) -> Result<ChangeOutcome> {
        ChangeOutcome out;
        for (const auto& id : ids) {
            Status s = (store.*op)(id);
            if (s)
                out.done.push_back(id);
            else if (s.error().kind == ErrorKind::not_found)
                out.unknown.push_back(id);
            else
                return s.error().context(id);
        }
        return out;
    };
    auto pending = write_store(writer_, std::move(job));  // named: see store_async.hpp
    auto outcome = co_await std::move(pending);
    if (!outcome) co_return outcome.error();
    for (const auto& id : outcome->done) spdlog::info("{}: {} by {}", id, cmd, caller.user);
    // retry/release make work due; hold/delete take it away from a scheduler
    // that may have it in hand. Either way, let it look again.
    if (cmd == "retry" && !outcome->done.empty() && hooks_.retry_requested) hooks_.retry_requested();
    if ((cmd == "retry" || cmd == "release") && !outcome->done.empty()) events_.rescan();
    if (!outcome->done.empty()) events_.changed();
    if (!outcome->unknown.empty()) co_return unknown_ids(outcome->unknown);
    co_return Json{{"ids", outcome->done}};
}

// A database the daemon cannot read still gets an answer: the store's
// faults are what the admin needs then, and the queue is null. "store"
// appears only after a fault, so a healthy daemon's answer keeps the shape
// DESIGN.md section 5 gives.
Result<Json> ControlCommands::stats()
{
    auto counts = reader_.counts(now_seconds());
    auto relay_totals = reader_.relay_totals();
    auto mailbox_totals = reader_.mailbox_totals();

    Json relays = Json::array();
    for (const auto& relay : config_.relays) {
        RelayTotals totals;
        totals.name = relay.name;
        if (relay_totals)
            for (const auto& t : *relay_totals)
                if (t.name == relay.name) totals = t;
        relays.push_back(to_json(totals, hooks_.relay_in_flight ? hooks_.relay_in_flight(relay.name) : 0));
    }
    Json mailboxes = Json::array();
    for (const auto& mailbox : config_.mailboxes) {
        MailboxTotals totals;
        totals.name = mailbox.name;
        if (mailbox_totals)
            for (const auto& t : *mailbox_totals)
                if (t.name == mailbox.name) totals = t;
        mailboxes.push_back(to_json(totals));
    }
    Json stats{
        {"queue", counts ? to_json(*counts) : Json(nullptr)}, {"relays", relays}, {"mailboxes", mailboxes}};
    if (hooks_.submit_refusals) stats["submit"] = Json{{"refused", hooks_.submit_refusals()}};
    const StoreFaults faults = writer_.faults();
    const Error* read_error = !counts           ? &counts.error()
                              : !relay_totals   ? &relay_totals.error()
                              : !mailbox_totals ? &mailbox_totals.error()
                                                : nullptr;
    if (faults.errors > 0 || read_error != nullptr) {
        stats["store"] = to_json(faults);
        if (read_error != nullptr) stats["store"]["read_error"] = read_error->message;
    }
    return stats;
}

awaitable<Result<Json>> ControlCommands::fetch(const Json& request)
{
    std::vector<std::string> names;
    if (auto it = request.find("mailboxes"); it != request.end() && !it->is_null()) {
        if (!it->is_array()) co_return usage("\"mailboxes\" must be a list of names");
        for (const auto& name : *it) {
            if (!name.is_string()) co_return usage("mailbox names must be strings");
            names.push_back(name.get<std::string>());
        }
    }
    if (config_.mailboxes.empty()) co_return make_error(ErrorKind::not_found, "no mailboxes configured");
    for (const auto& name : names)
        if (config_.mailbox(name) == nullptr)
            co_return make_error(ErrorKind::not_found, "unknown mailbox " + name);
    if (!hooks_.fetch) co_return make_error(ErrorKind::unavailable, "POP3 fetching is not available yet");
    auto pending = hooks_.fetch(std::move(names));
    co_return co_await std::move(pending);
}

}  // namespace mailqd
