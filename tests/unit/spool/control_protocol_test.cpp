// The control protocol's JSON, against DESIGN.md section 5 to the letter.
#include <gtest/gtest.h>

#include "spool/control_protocol.hpp"

namespace mailqd {
namespace {

TimePoint at(const char* text) { return *parse_time(text); }

MessageInfo design_example()
{
    MessageInfo m;
    m.id = "7F3A2C000001";
    m.received_at = at("2026-11-23T08:00:00Z");
    m.size = 1234;
    m.sender = "a@example.com";
    m.submitter = "www-data";
    RecipientInfo r;
    r.id = 17;
    r.address = "b@example.org";
    r.state = RecipientState::deferred;
    r.attempts = 2;
    r.next_attempt_at = at("2026-11-23T08:04:00Z");
    r.last_reply = "451 4.3.0 try later";
    m.recipients.push_back(r);
    m.attempts.push_back(
        AttemptInfo{at("2026-11-23T08:00:01Z"), "default", "b@example.org", "451 4.3.0 try later"});
    return m;
}

TEST(ControlProtocol, MessageJsonIsTheDesignShape)
{
    const Json expected = Json::parse(
        R"({"id":"7F3A2C000001","state":"deferred","received_at":"2026-11-23T08:00:00Z","size":1234,
        "sender":"a@example.com","submitter":"www-data",
        "recipients":[{"address":"b@example.org","state":"deferred","attempts":2,
          "next_attempt_at":"2026-11-23T08:04:00Z","last_reply":"451 4.3.0 try later"}]})");
    EXPECT_EQ(to_json(design_example(), false), expected);
}

TEST(ControlProtocol, ShowAddsTheAttemptHistory)
{
    const Json j = to_json(design_example(), true);
    EXPECT_EQ(j["attempts"], Json::parse(R"([{"at":"2026-11-23T08:00:01Z","relay":"default",
        "recipient":"b@example.org","reply":"451 4.3.0 try later"}])"));
    auto empty = design_example();
    empty.attempts.clear();
    EXPECT_EQ(to_json(empty, true)["attempts"], Json::array());
}

TEST(ControlProtocol, NextAttemptIsNullUnlessDeferred)
{
    auto m = design_example();
    m.recipients[0].state = RecipientState::queued;
    const Json j = to_json(m, false);
    EXPECT_TRUE(j["recipients"][0]["next_attempt_at"].is_null());
    EXPECT_EQ(j["state"], "queued");
    m.recipients[0].state = RecipientState::deferred;
    m.recipients[0].next_attempt_at.reset();
    EXPECT_TRUE(to_json(m, false)["recipients"][0]["next_attempt_at"].is_null());
}

TEST(ControlProtocol, MessageJsonRoundTrips)
{
    const MessageInfo m = design_example();
    auto back = message_from_json(to_json(m, true));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->id, m.id);
    EXPECT_EQ(back->received_at, m.received_at);
    EXPECT_EQ(back->size, m.size);
    EXPECT_EQ(back->state(), RecipientState::deferred);
    ASSERT_EQ(back->recipients.size(), 1u);
    EXPECT_EQ(back->recipients[0].next_attempt_at, m.recipients[0].next_attempt_at);
    EXPECT_EQ(back->recipients[0].last_reply, m.recipients[0].last_reply);
    ASSERT_EQ(back->attempts.size(), 1u);
    EXPECT_EQ(back->attempts[0].relay, "default");
}

TEST(ControlProtocol, MessageFromJsonRefusesBrokenShapes)
{
    Json j = to_json(design_example(), false);
    for (const char* key : {"id", "received_at", "size", "sender", "recipients"}) {
        Json broken = j;
        broken.erase(key);
        EXPECT_FALSE(message_from_json(broken).ok()) << key;
    }
    Json bad_state = j;
    bad_state["recipients"][0]["state"] = "lost";
    EXPECT_FALSE(message_from_json(bad_state).ok());
    EXPECT_FALSE(message_from_json(Json::array()).ok());
}

TEST(ControlProtocol, CountsJsonIsTheDesignShape)
{
    QueueCounts c;
    c.deferred = 2;
    c.sent = 10;
    c.failed = 1;
    c.oldest_age_s = 240;
    EXPECT_EQ(to_json(c),
              Json::parse(R"({"queued":0,"deferred":2,"held":0,"sent":10,"failed":1,"oldest_age_s":240})"));
    EXPECT_EQ(to_json(QueueCounts{})["oldest_age_s"], 0);
}

TEST(ControlProtocol, RelayAndMailboxJson)
{
    RelayTotals r{"default", 10, 1, 2, at("2026-11-23T08:00:00Z"), std::nullopt};
    EXPECT_EQ(to_json(r, 3), Json::parse(R"({"name":"default","in_flight":3,"sent":10,"failed":1,"deferred":2,
        "last_success_at":"2026-11-23T08:00:00Z","last_error":null})"));
    MailboxTotals m{"qq", std::nullopt, 40, std::string("-ERR nope")};
    EXPECT_EQ(to_json(m),
              Json::parse(R"({"name":"qq","last_fetch_at":null,"fetched":40,"last_error":"-ERR nope"})"));
}

TEST(ControlProtocol, ResponsesRoundTrip)
{
    const Json ok = ok_response(Json{{"n", 1}});
    EXPECT_EQ(ok, Json::parse(R"({"ok":true,"result":{"n":1}})"));
    auto parsed = parse_response(dump_line(ok));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ((*parsed)["n"], 1);

    const Json err = error_response(make_error(ErrorKind::not_found, "unknown queue ID 7F3A2C"));
    EXPECT_EQ(err, Json::parse(R"({"ok":false,"kind":67,"error":"unknown queue ID 7F3A2C"})"));
    auto failed = parse_response(err.dump());
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().kind, ErrorKind::not_found);
    EXPECT_EQ(failed.error().message, "unknown queue ID 7F3A2C");

    auto no_result = parse_response(R"({"ok":true})");
    ASSERT_TRUE(no_result.ok());
    EXPECT_TRUE(no_result->is_null());
}

TEST(ControlProtocol, MalformedResponsesAreErrorsNotExceptions)
{
    for (const char* line : {"", "not json", "[1,2]", R"({"result":1})", R"({"ok":"yes"})", "{\"ok\":tru"}) {
        auto r = parse_response(line);
        ASSERT_FALSE(r.ok()) << line;
        EXPECT_EQ(r.error().kind, ErrorKind::failure);
    }
    auto unknown_kind = parse_response(R"({"ok":false,"kind":12345,"error":"x"})");
    EXPECT_EQ(unknown_kind.error().kind, ErrorKind::failure);
    auto no_text = parse_response(R"({"ok":false,"kind":75})");
    EXPECT_EQ(no_text.error().kind, ErrorKind::temporary);
    EXPECT_FALSE(no_text.error().message.empty());
}

TEST(ControlProtocol, DumpLineSurvivesInvalidUtf8)
{
    auto m = design_example();
    m.recipients[0].last_reply = "451 \xff\xfe broken";
    std::string line;
    EXPECT_NO_THROW(line = dump_line(to_json(m, false)));
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_TRUE(parse_response(dump_line(ok_response(to_json(m, false)))).ok());
}

}  // namespace
}  // namespace mailqd
