// The control protocol's JSON (see control_protocol.hpp). The shapes are
// DESIGN.md section 5, which scripts rely on: change them only by adding.
// parse_response reads what came over a socket, so it never throws.
#include "spool/control_protocol.hpp"

#include <array>

namespace mailqd {

namespace {

Json optional_time(const std::optional<TimePoint>& t) { return t ? Json(format_time(*t)) : Json(nullptr); }

template <class T>
Json optional_value(const std::optional<T>& v)
{
    return v ? Json(*v) : Json(nullptr);
}

Json to_json(const RecipientInfo& r)
{
    const bool deferred = r.state == RecipientState::deferred;
    return Json{{"address", r.address},
                {"state", to_string(r.state)},
                {"attempts", r.attempts},
                {"next_attempt_at", deferred ? optional_time(r.next_attempt_at) : Json(nullptr)},
                {"last_reply", r.last_reply}};
}

Json to_json(const AttemptInfo& a)
{
    return Json{
        {"at", format_time(a.at)}, {"relay", a.relay}, {"recipient", a.recipient}, {"reply", a.reply}};
}

constexpr std::array known_kinds{ErrorKind::failure,   ErrorKind::usage,       ErrorKind::bad_message,
                                 ErrorKind::not_found, ErrorKind::unavailable, ErrorKind::io,
                                 ErrorKind::temporary, ErrorKind::permission,  ErrorKind::config};

ErrorKind kind_from(const Json& value)
{
    if (value.is_number_integer())
        for (ErrorKind k : known_kinds)
            if (value.get<int>() == static_cast<int>(k)) return k;
    return ErrorKind::failure;
}

// Field readers for message_from_json: nullopt when absent or mistyped.
std::optional<std::string> get_string(const Json& j, const char* key)
{
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

std::optional<std::int64_t> get_integer(const Json& j, const char* key)
{
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
}

std::optional<TimePoint> get_time(const Json& j, const char* key)
{
    auto text = get_string(j, key);
    return text ? parse_time(*text) : std::nullopt;
}

std::optional<RecipientInfo> recipient_from_json(const Json& j)
{
    auto address = get_string(j, "address"), state = get_string(j, "state"),
         reply = get_string(j, "last_reply");
    auto attempts = get_integer(j, "attempts");
    auto parsed = state ? recipient_state_from(*state) : std::nullopt;
    if (!j.is_object() || !address || !parsed || !reply || !attempts) return std::nullopt;
    RecipientInfo r;
    r.address = *address;
    r.state = *parsed;
    r.attempts = static_cast<int>(*attempts);
    r.next_attempt_at = get_time(j, "next_attempt_at");
    r.last_reply = *reply;
    return r;
}

std::optional<AttemptInfo> attempt_from_json(const Json& j)
{
    auto at = get_time(j, "at");
    auto relay = get_string(j, "relay"), recipient = get_string(j, "recipient"),
         reply = get_string(j, "reply");
    if (!j.is_object() || !at || !relay || !recipient || !reply) return std::nullopt;
    return AttemptInfo{*at, *relay, *recipient, *reply};
}

// Appends parse(element) for each element of j[key]; false if one fails.
template <class T, class Parse>
bool read_array(const Json& j, const char* key, std::vector<T>& out, Parse parse)
{
    auto it = j.find(key);
    if (it == j.end() || !it->is_array()) return false;
    for (const Json& element : *it) {
        auto value = parse(element);
        if (!value) return false;
        out.push_back(std::move(*value));
    }
    return true;
}

}  // namespace

Result<MessageInfo> message_from_json(const Json& j)
{
    const Error bad = make_error(ErrorKind::failure, "malformed message in the daemon's response");
    if (!j.is_object()) return bad;
    auto id = get_string(j, "id"), sender = get_string(j, "sender"), submitter = get_string(j, "submitter");
    auto received = get_time(j, "received_at");
    auto size = get_integer(j, "size");
    if (!id || !sender || !submitter || !received || !size || *size < 0) return bad;
    MessageInfo m;
    m.id = *id;
    m.received_at = *received;
    m.size = static_cast<std::uint64_t>(*size);
    m.sender = *sender;
    m.submitter = *submitter;
    if (!read_array(j, "recipients", m.recipients, recipient_from_json)) return bad;
    if (j.contains("attempts") && !read_array(j, "attempts", m.attempts, attempt_from_json)) return bad;
    return m;
}

std::string dump_line(const Json& json)
{
    return json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

Json to_json(const MessageInfo& m, bool with_attempts)
{
    Json recipients = Json::array();
    for (const auto& r : m.recipients) recipients.push_back(to_json(r));
    Json j{{"id", m.id},
           {"state", to_string(m.state())},
           {"received_at", format_time(m.received_at)},
           {"size", m.size},
           {"sender", m.sender},
           {"submitter", m.submitter},
           {"recipients", std::move(recipients)}};
    if (with_attempts) {
        Json attempts = Json::array();
        for (const auto& a : m.attempts) attempts.push_back(to_json(a));
        j["attempts"] = std::move(attempts);
    }
    return j;
}

// oldest_age_s is 0 when no message is waiting, so it is always a number.
Json to_json(const QueueCounts& c)
{
    return Json{{"queued", c.queued}, {"deferred", c.deferred}, {"held", c.held},
                {"sent", c.sent},     {"failed", c.failed},     {"oldest_age_s", c.oldest_age_s.value_or(0)}};
}

Json to_json(const RelayTotals& r, std::uint64_t in_flight)
{
    return Json{{"name", r.name},
                {"in_flight", in_flight},
                {"sent", r.sent},
                {"failed", r.failed},
                {"deferred", r.deferred},
                {"last_success_at", optional_time(r.last_success_at)},
                {"last_error", optional_value(r.last_error)}};
}

Json to_json(const StoreFaults& f)
{
    return Json{{"errors", f.errors},
                {"reopens", f.reopens},
                {"last_error", optional_value(f.last_error)},
                {"last_error_at", optional_time(f.last_error_at)}};
}

Json to_json(const MailboxTotals& m)
{
    return Json{{"name", m.name},
                {"last_fetch_at", optional_time(m.last_fetch_at)},
                {"fetched", m.fetched},
                {"last_error", optional_value(m.last_error)}};
}

Json ok_response(Json result) { return Json{{"ok", true}, {"result", std::move(result)}}; }

Json error_response(const Error& error)
{
    return Json{{"ok", false}, {"kind", static_cast<int>(error.kind)}, {"error", error.message}};
}

Result<Json> parse_response(const std::string& line)
{
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("ok") || !j["ok"].is_boolean())
        return make_error(ErrorKind::failure, "malformed response from the daemon");
    if (j["ok"].get<bool>()) return j.contains("result") ? j["result"] : Json(nullptr);
    const Json& text = j.contains("error") ? j["error"] : Json();
    return make_error(
        kind_from(j.contains("kind") ? j["kind"] : Json()),
        text.is_string() ? text.get<std::string>() : "the daemon reported an unspecified error");
}

}  // namespace mailqd
