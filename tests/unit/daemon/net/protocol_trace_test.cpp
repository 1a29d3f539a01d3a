// Secret masking in protocol traces: a conversation in, what may be logged out.
#include "daemon/net/protocol_trace.hpp"

#include <gtest/gtest.h>

namespace mailqd {
namespace {

struct Line {
    char who;  // 'C' client, 'S' server
    std::string in;
    std::string shown;
};

void check(ProtocolTraceMasker masker, const std::vector<Line>& conversation)
{
    for (const auto& l : conversation) {
        std::string shown = l.who == 'C' ? masker.client(l.in) : masker.server(l.in);
        EXPECT_EQ(shown, l.shown) << l.who << ": " << l.in;
    }
}

TEST(ProtocolTrace, AuthPlainInitialResponseMasked)
{
    check(ProtocolTraceMasker("hunter2"),
          {
              {'C', "EHLO client.example", "EHLO client.example"},
              {'S', "250 AUTH PLAIN LOGIN", "250 AUTH PLAIN LOGIN"},
              {'C', "AUTH PLAIN AHVzZXIAaHVudGVyMg==", "AUTH PLAIN ***"},
              {'S', "235 2.7.0 Authentication successful", "235 2.7.0 Authentication successful"},
              {'C', "MAIL FROM:<a@b>", "MAIL FROM:<a@b>"},
          });
}

TEST(ProtocolTrace, AuthLoginContinuationsMasked)
{
    check(ProtocolTraceMasker("hunter2"), {
                                              {'C', "AUTH LOGIN", "AUTH LOGIN"},
                                              {'S', "334 VXNlcm5hbWU6", "334 VXNlcm5hbWU6"},
                                              {'C', "dXNlcg==", "***"},
                                              {'S', "334 UGFzc3dvcmQ6", "334 UGFzc3dvcmQ6"},
                                              {'C', "aHVudGVyMg==", "***"},
                                              {'S', "535 5.7.8 bad credentials", "535 5.7.8 bad credentials"},
                                              {'C', "QUIT", "QUIT"},
                                          });
}

TEST(ProtocolTrace, Xoauth2ErrorContinuationMasked)
{
    check(ProtocolTraceMasker(),
          {
              {'C', "auth xoauth2 dXNlcj1hAWF1dGg9QmVhcmVyIHQBAQ==", "auth xoauth2 ***"},
              {'S', "334 eyJzdGF0dXMiOiI0MDEifQ==", "334 eyJzdGF0dXMiOiI0MDEifQ=="},
              {'C', "", "***"},
              {'S', "535 5.7.8 nope", "535 5.7.8 nope"},
              {'C', "RSET", "RSET"},
          });
}

TEST(ProtocolTrace, Pop3SecretsMasked)
{
    check(ProtocolTraceMasker(), {
                                     {'C', "USER bob", "USER bob"},
                                     {'C', "PASS s3cret words", "PASS ***"},
                                     {'C', "APOP bob c4c9334bac560ecc979e58001b3e22fb", "APOP bob ***"},
                                     {'C', "AUTH PLAIN", "AUTH PLAIN"},
                                     {'S', "+ ", "+ "},
                                     {'C', "AGJvYgBzM2NyZXQ=", "***"},
                                     {'S', "+OK logged in", "+OK logged in"},
                                     {'C', "STAT", "STAT"},
                                 });
}

TEST(ProtocolTrace, LiteralSecretAndControlCharacters)
{
    check(ProtocolTraceMasker("hunter2"), {
                                              {'C', "HELO hunter2.example", "***"},
                                              {'S', "250 hi hunter2", "***"},
                                              {'S', "250 a\x1b[2Jb", "250 a?[2Jb"},
                                          });
}

}  // namespace
}  // namespace mailqd
