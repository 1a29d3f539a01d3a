// Encoders against known vectors (RFC 4648/2045 base64, RFC 2045
// quoted-printable, RFC 2047 encoded words, RFC 2231 parameters) and the
// limits they promise: whole characters per word, lines under 78/76.
#include "spool/mime/mime_encoding.hpp"

#include <gtest/gtest.h>

#include <random>

#include "spool/message_text.hpp"

namespace mailqd {
namespace {

std::vector<std::string> lines_of(const std::string& s)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
        auto eol = s.find("\r\n", pos);
        if (eol == std::string::npos) eol = s.size();
        out.push_back(s.substr(pos, eol - pos));
        pos = eol + 2;
    }
    return out;
}

std::string random_bytes(std::size_t n, unsigned seed)
{
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(gen() & 0xFF);
    return s;
}

TEST(Base64, Rfc4648Vectors)
{
    const std::pair<std::string, std::string> cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {std::string("\0\xff\xfe", 3), "AP/+"},
    };
    for (const auto& [plain, encoded] : cases) {
        EXPECT_EQ(base64_encode(plain, 0), encoded);
        EXPECT_EQ(base64_encode(plain), encoded.empty() ? "" : encoded + "\r\n");
        EXPECT_EQ(base64_decode(encoded), plain);
    }
}

TEST(Base64, LinesOf76AndRoundTrip)
{
    for (std::size_t n : {0u, 1u, 56u, 57u, 58u, 114u, 1000u, 65537u}) {
        std::string data = random_bytes(n, static_cast<unsigned>(n));
        std::string encoded = base64_encode(data);
        auto lines = lines_of(encoded);
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (i + 1 < lines.size())
                EXPECT_EQ(lines[i].size(), 76u);
            else
                EXPECT_LE(lines[i].size(), 76u);
        }
        EXPECT_EQ(base64_decode(encoded), data) << n;
    }
}

TEST(Base64, DecodeRejectsGarbage)
{
    for (const char* bad : {"Zg=", "Z", "Zm9v!", "Zg==Zg==", "=Zg="}) EXPECT_FALSE(base64_decode(bad)) << bad;
    EXPECT_EQ(base64_decode("Zm9v\r\nYmFy\r\n"), "foobar");
}

TEST(QuotedPrintable, KnownVectors)
{
    const std::pair<std::string, std::string> cases[] = {
        {"plain text", "plain text"},
        {"a=b", "a=3Db"},
        {"a \r\nb\t", "a=20\r\nb=09"},  // white space before a line end
        {"a \r\n", "a=20\r\n"},
        {"tab\there", "tab\there"},
        {"caf\xC3\xA9\r\n", "caf=C3=A9\r\n"},
        {std::string("nul\0", 4), "nul=00"},
        {"H\xC3\xA4tten H\xC3\xBCte ein \xC3\x9F im Namen, w\xC3\xA4ren sie m\xC3\xB6glicherweise keine "
         "H\xC3\xBCte mehr, sondern H\xC3\xBC\xC3\x9F"
         "e.",
         "H=C3=A4tten H=C3=BCte ein =C3=9F im Namen, w=C3=A4ren sie m=C3=B6glicherwei=\r\n"
         "se keine H=C3=BCte mehr, sondern H=C3=BC=C3=9Fe."},  // as Python's quopri
        {std::string(76, 'x'), std::string(76, 'x')},          // fits exactly
        {std::string(77, 'x'), std::string(75, 'x') + "=\r\nxx"},
        {std::string(74, 'x') + "\xC3\xA9", std::string(74, 'x') + "=\r\n=C3=A9"},  // =XX never split
    };
    for (const auto& [plain, encoded] : cases) {
        EXPECT_EQ(quoted_printable_encode(plain), encoded) << plain;
        EXPECT_EQ(quoted_printable_decode(encoded), plain) << encoded;
    }
}

TEST(QuotedPrintable, LinesAtMost76)
{
    std::string text;
    for (int i = 0; i < 50; ++i) text += random_bytes(static_cast<std::size_t>(i * 7), i) + "\r\n";
    std::string encoded = quoted_printable_encode(text);
    for (const auto& line : lines_of(encoded)) EXPECT_LE(line.size(), 76u);
    EXPECT_EQ(quoted_printable_decode(encoded), text);
}

TEST(ChooseTextEncoding, Table)
{
    const std::pair<std::string, BodyEncoding> cases[] = {
        {"", BodyEncoding::seven_bit},
        {"Hello\r\nworld\r\n", BodyEncoding::seven_bit},
        {std::string(78, 'a') + "\r\n", BodyEncoding::seven_bit},
        {std::string(79, 'a') + "\r\n", BodyEncoding::quoted_printable},
        {"Gr\xC3\xBC\xC3\x9F"
         "e aus K\xC3\xB6ln, wie geht es dir heute?\r\n",
         BodyEncoding::quoted_printable},
        {"\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\r\n", BodyEncoding::base64},
        {std::string("a text with a \0 in it\r\n", 24), BodyEncoding::quoted_printable},
    };
    for (const auto& [text, expected] : cases) EXPECT_EQ(choose_text_encoding(text), expected) << text;
    EXPECT_EQ(to_string(BodyEncoding::seven_bit), "7bit");
    EXPECT_EQ(to_string(BodyEncoding::quoted_printable), "quoted-printable");
    EXPECT_EQ(to_string(BodyEncoding::base64), "base64");
}

// A minimal RFC 2047 decoder for the words this encoder writes.
std::string decode_words(const std::vector<std::string>& words)
{
    std::string out;
    for (const auto& w : words) {
        EXPECT_EQ(w.substr(0, 8), "=?UTF-8?");
        std::string payload = w.substr(10, w.size() - 12);
        if (w[8] == 'B') {
            out += base64_decode(payload).value_or("<bad>");
        } else {
            for (char& c : payload)
                if (c == '_') c = ' ';
            out += quoted_printable_decode(payload).value_or("<bad>");
        }
    }
    return out;
}

TEST(EncodedWords, Rfc2047Examples)
{
    // RFC 2047 section 8's names, in UTF-8.
    EXPECT_EQ(encoded_words("Keld J\xC3\xB8rn Simonsen"),
              std::vector<std::string>{"=?UTF-8?Q?Keld_J=C3=B8rn_Simonsen?="});
    EXPECT_EQ(encoded_words("Andr\xC3\xA9 Pirard"),
              std::vector<std::string>{"=?UTF-8?Q?Andr=C3=A9_Pirard?="});
    EXPECT_EQ(encoded_words("\xE4\xB8\xAD\xE6\x96\x87"), std::vector<std::string>{"=?UTF-8?B?5Lit5paH?="});
    // Characters outside the phrase-safe set are escaped in Q.
    EXPECT_EQ(encoded_words("abcdef_ghijk=lmnop?qrstu \"v\" \xC3\xA9"),
              std::vector<std::string>{"=?UTF-8?Q?abcdef=5Fghijk=3Dlmnop=3Fqrstu_=22v=22_=C3=A9?="});
    // Mostly escapes: B is shorter.
    EXPECT_EQ(encoded_words("Caf\xC3\xA9"), std::vector<std::string>{"=?UTF-8?B?Q2Fmw6k=?="});
}

TEST(EncodedWords, LongTextSplitsAtCharacters)
{
    std::string chinese;
    for (int i = 0; i < 40; ++i) chinese += "\xE4\xB8\xAD\xE6\x96\x87";  // 80 characters
    std::string german;
    for (int i = 0; i < 10; ++i)
        german +=
            "Stra\xC3\x9F"
            "enbahnhaltestelle ";
    for (const std::string& text : {chinese, german, std::string(300, 'x')}) {
        auto words = encoded_words(text);
        EXPECT_GT(words.size(), 1u);
        for (const auto& w : words) {
            EXPECT_LE(w.size(), 66u) << w;
            EXPECT_TRUE(valid_utf8(decode_words({w}))) << w;  // whole characters only
        }
        EXPECT_EQ(decode_words(words), text);
    }
}

TEST(FoldHeader, LinesUnder78)
{
    EXPECT_EQ(fold_header("Subject", {"short", "value"}), "Subject: short value\r\n");
    std::vector<std::string> pieces(30, "word");
    std::string folded = fold_header("Subject", pieces);
    for (const auto& line : lines_of(folded)) EXPECT_LE(line.size(), 78u) << line;
    EXPECT_EQ(folded.find("\r\n "), 78u);  // "Subject:" + 14 * " word" = 78; fold before the 15th
}

TEST(UnstructuredHeader, PlainOrEncoded)
{
    EXPECT_EQ(unstructured_header("Subject", "Hello world"), "Subject: Hello world\r\n");
    EXPECT_EQ(unstructured_header("Subject", ""), "Subject:\r\n");
    EXPECT_EQ(unstructured_header("Subject", "Caf\xC3\xA9 cr\xC3\xA8me"),
              "Subject: =?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?=\r\n");
    // Doubled spaces, a leading space, or "=?" would not read back exactly.
    EXPECT_EQ(unstructured_header("Subject", "a  b"), "Subject: =?UTF-8?Q?a__b?=\r\n");
    EXPECT_EQ(unstructured_header("Subject", " a"), "Subject: =?UTF-8?Q?_a?=\r\n");
    EXPECT_EQ(unstructured_header("Subject", "=?x?="), "Subject: =?UTF-8?B?PT94Pz0=?=\r\n");
    std::string long_ascii;
    for (int i = 0; i < 40; ++i) long_ascii += "word" + std::to_string(i) + " ";
    long_ascii.pop_back();
    std::string folded = unstructured_header("Subject", long_ascii);
    EXPECT_EQ(folded.find("=?"), std::string::npos);
    for (const auto& line : lines_of(folded)) EXPECT_LE(line.size(), 78u);
}

TEST(DisplayNamePieces, Forms)
{
    using V = std::vector<std::string>;
    EXPECT_EQ(display_name_pieces(""), V{});
    EXPECT_EQ(display_name_pieces("John Doe"), (V{"John", "Doe"}));
    EXPECT_EQ(display_name_pieces("Doe, John"), V{"\"Doe, John\""});
    EXPECT_EQ(display_name_pieces("say \"hi\""), V{"\"say \\\"hi\\\"\""});
    EXPECT_EQ(display_name_pieces("J\xC3\xBCrgen"), V{"=?UTF-8?Q?J=C3=BCrgen?="});
}

TEST(ParameterPieces, Rfc2231)
{
    using V = std::vector<std::string>;
    EXPECT_EQ(parameter_pieces("filename", "report.pdf"), V{"filename=\"report.pdf\""});
    EXPECT_EQ(parameter_pieces("filename", "my \"file\".txt"), V{"filename=\"my \\\"file\\\".txt\""});
    EXPECT_EQ(parameter_pieces("filename", "\xE4\xB8\xAD\xE6\x96\x87.txt"),
              V{"filename*=UTF-8''%E4%B8%AD%E6%96%87.txt"});
    EXPECT_EQ(parameter_pieces("filename", "a b"), V{"filename=\"a b\""});
    std::string name;
    for (int i = 0; i < 20; ++i) name += "\xE6\x96\x87";
    name += ".pdf";
    V pieces = parameter_pieces("filename", name);
    ASSERT_GT(pieces.size(), 1u);
    EXPECT_EQ(pieces[0].rfind("filename*0*=UTF-8''%E6%96%87", 0), 0u);
    EXPECT_EQ(pieces[1].rfind("filename*1*=%E6", 0), 0u);
    std::string joined;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        EXPECT_LE(pieces[i].size() + 2, 78u);
        EXPECT_EQ(pieces[i].back() == ';', i + 1 < pieces.size());
        joined += pieces[i].substr(pieces[i].find('=') + 1 + (i == 0 ? 7 : 0));
        if (joined.back() == ';') joined.pop_back();
    }
    std::string expected;
    for (int i = 0; i < 20; ++i) expected += "%E6%96%87";
    EXPECT_EQ(joined, expected + ".pdf");
}

}  // namespace
}  // namespace mailqd
