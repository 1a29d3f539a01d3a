// iconv wrapper (see mime_charset.hpp). One iconv_t per call: conversions
// are per message part, and the handle is cheap next to the parse.
#include "spool/mime/mime_charset.hpp"

#include <iconv.h>
#include <cerrno>

#include "spool/message_text.hpp"

namespace mailqd {

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

// The label iconv is asked for: the superset that real mail means.
std::string iconv_name(std::string_view charset)
{
    std::string name = ascii_lowercase(trim_wsp(charset));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    if (name == "gb2312" || name == "gbk" || name == "x-gbk" || name == "euc-cn" || name == "cp936")
        return "GB18030";
    if (name == "iso-8859-1" || name == "latin1" || name == "iso8859-1" || name == "ascii" ||
        name == "us-ascii" || name == "ansi_x3.4-1968")
        return "WINDOWS-1252";
    if (name == "shift_jis" || name == "shift-jis" || name == "sjis" || name == "x-sjis" ||
        name == "ms_kanji")
        return "CP932";
    if (name == "ks_c_5601-1987" || name == "euc-kr" || name == "ks_c_5601") return "CP949";
    if (name == "utf8") return "UTF-8";
    return name;
}

class Iconv {
public:
    explicit Iconv(const std::string& from) : cd_(iconv_open("UTF-8", from.c_str())) {}
    ~Iconv()
    {
        if (ok()) iconv_close(cd_);
    }
    Iconv(const Iconv&) = delete;
    Iconv& operator=(const Iconv&) = delete;
    bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }

    std::string convert(std::string_view bytes)
    {
        std::string out;
        out.reserve(bytes.size() + bytes.size() / 2 + 16);
        char* in = const_cast<char*>(bytes.data());
        std::size_t in_left = bytes.size();
        char buffer[4096];
        while (in_left > 0) {
            char* o = buffer;
            std::size_t o_left = sizeof buffer;
            std::size_t r = iconv(cd_, &in, &in_left, &o, &o_left);
            out.append(buffer, static_cast<std::size_t>(o - buffer));
            if (r != static_cast<std::size_t>(-1)) break;
            if (errno == E2BIG) continue;
            // EILSEQ (a bad byte) or EINVAL (a sequence cut off at the end):
            // one replacement character per bad byte, then go on.
            out += replacement;
            ++in;
            --in_left;
            iconv(cd_, nullptr, nullptr, nullptr, nullptr);
        }
        return out;
    }

private:
    iconv_t cd_;
};

std::string fallback(std::string_view bytes)
{
    if (valid_utf8(bytes)) return std::string(bytes);
    return Iconv("WINDOWS-1252").convert(bytes);
}

}  // namespace

bool charset_known(std::string_view charset) { return Iconv(iconv_name(charset)).ok(); }

std::string to_utf8(std::string_view bytes, std::string_view charset)
{
    std::string name = iconv_name(charset);
    bool plain_ascii = true;
    for (char c : bytes)
        if (static_cast<unsigned char>(c) >= 0x80) {
            plain_ascii = false;
            break;
        }
    // ASCII is the same in every charset mail uses (UTF-7 and UTF-16 aside).
    if (plain_ascii && name != "utf-7" && name.rfind("utf-16", 0) != 0 && name.rfind("utf-32", 0) != 0)
        return std::string(bytes);
    // A part labelled Latin-1 or ASCII that is really UTF-8 is the commonest
    // lie in mail; UTF-8 this long by chance in Latin-1 text is rare.
    if (name.empty() || name == "WINDOWS-1252") return fallback(bytes);
    Iconv cd(name);
    if (!cd.ok()) return fallback(bytes);
    return cd.convert(bytes);
}

}  // namespace mailqd
