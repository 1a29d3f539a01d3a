// RFC 5322 section 3.4 address lists, and the single addresses of command
// lines and SMTP commands. A tokenizer turns the value into atoms, quoted
// strings, domain literals and specials (comments and folding whitespace
// dropped), then a recursive-descent parser follows the grammar:
//   address-list = [address] *("," [address])      (obs: empty elements)
//   address      = mailbox / group
//   group        = phrase ":" [mailbox *("," [mailbox])] ";"
//   mailbox      = [phrase] "<" [obs-route] addr-spec ">" / addr-spec
//   addr-spec    = word *("." word) "@" (atom *("." atom) / domain-literal)
// Values come from untrusted users: nothing recurses on input depth, and
// every result is checked by valid_address().
#include <cstdio>
#include <optional>

#include "spool/message.hpp"
#include "spool/message_text.hpp"
#include "spool/text_sanitize.hpp"

namespace mailqd {

namespace {

enum class Kind { atom, quoted, literal, special };

struct Token {
    Kind kind;
    std::string text;  // quoted: unescaped content; literal: with brackets
    bool space_before = false;
    std::size_t offset = 0;
};

bool is_atext(char c)
{
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return true;  // UTF-8 (RFC 6532)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_special(char c) { return std::string_view("<>@,;:.").find(c) != std::string_view::npos; }

std::string shown_char(char c)
{
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", u);
    return buf;
}

class Tokenizer {
public:
    explicit Tokenizer(std::string_view text) : s_(text) {}

    Result<std::vector<Token>> run()
    {
        std::vector<Token> tokens;
        bool space = false;
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (is_wsp(c) || c == '\r' || c == '\n') {
                ++i_;
                space = true;
                continue;
            }
            if (c == '(') {
                if (!skip_comment()) return fail("unterminated comment");
                space = true;
                continue;
            }
            auto token = next_token(c);
            if (!token) return token.error();
            token->space_before = space;
            space = false;
            tokens.push_back(std::move(*token));
        }
        return tokens;
    }

private:
    Error fail(const std::string& what) const { return make_error(ErrorKind::bad_message, what); }

    Result<Token> next_token(char c)
    {
        Token t{Kind::special, {}, false, i_};
        if (c == '"') {
            t.kind = Kind::quoted;
            if (!read_quoted(t.text)) return fail("unterminated quoted string");
        } else if (c == '[') {
            t.kind = Kind::literal;
            if (!read_literal(t.text)) return fail("unterminated domain literal");
        } else if (is_special(c)) {
            t.text = std::string(1, c);
            ++i_;
        } else if (is_atext(c)) {
            t.kind = Kind::atom;
            while (i_ < s_.size() && is_atext(s_[i_])) t.text += s_[i_++];
        } else {
            return fail("unexpected character " + shown_char(c) + " at offset " + std::to_string(i_));
        }
        return t;
    }

    // Nested comments with quoted pairs, counted rather than recursed.
    bool skip_comment()
    {
        int depth = 0;
        for (; i_ < s_.size(); ++i_) {
            char c = s_[i_];
            if (c == '\\')
                ++i_;
            else if (c == '(')
                ++depth;
            else if (c == ')' && --depth == 0) {
                ++i_;
                return true;
            }
        }
        return false;
    }

    bool read_quoted(std::string& out)
    {
        for (++i_; i_ < s_.size(); ++i_) {
            char c = s_[i_];
            if (c == '"') {
                ++i_;
                return true;
            }
            if (c == '\\' && i_ + 1 < s_.size())
                out += s_[++i_];
            else if (c != '\r' && c != '\n')
                out += c;  // folding inside quotes
        }
        return false;
    }

    bool read_literal(std::string& out)
    {
        for (; i_ < s_.size(); ++i_) {
            char c = s_[i_];
            if (c == '\\' || (c == '[' && !out.empty())) return false;
            if (!is_wsp(c) && c != '\r' && c != '\n') out += c;
            if (c == ']') {
                ++i_;
                return true;
            }
        }
        return false;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

bool is_dot_atom(std::string_view s)
{
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '.') {
            if (s[i + 1] == '.') return false;
        } else if (!is_atext(s[i])) {
            return false;
        }
    }
    return true;
}

std::string quote_local(std::string_view local)
{
    if (is_dot_atom(local)) return std::string(local);
    std::string out = "\"";
    for (char c : local) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

class AddressParser {
public:
    AddressParser(const std::vector<Token>& tokens, std::string_view default_domain)
        : t_(tokens), default_domain_(default_domain)
    {
    }

    Result<std::vector<Mailbox>> address_list()
    {
        std::vector<Mailbox> out;
        while (!at_end()) {
            if (is(",")) {
                ++i_;
                continue;
            }  // obs-addr-list: empty elements
            if (auto s = address(out); !s) return s.error();
            if (!at_end() && !is(",")) return unexpected("',' between addresses");
        }
        return out;
    }

    // Exactly one mailbox and nothing after it; nullopt is "<>".
    Result<std::optional<Mailbox>> single(bool allow_null)
    {
        if (t_.size() == 2 && is("<") && t_[1].kind == Kind::special && t_[1].text == ">") {
            if (!allow_null) return fail("the null address <> is not allowed here");
            return std::optional<Mailbox>();
        }
        if (at_end()) return fail("empty address");
        auto words = phrase();
        auto box = mailbox(std::move(words));
        if (!box) return box.error();
        if (!at_end()) return unexpected("the end after the address");
        return std::optional<Mailbox>(std::move(*box));
    }

private:
    bool at_end() const { return i_ >= t_.size(); }
    bool is(std::string_view special) const
    {
        return !at_end() && t_[i_].kind == Kind::special && t_[i_].text == special;
    }
    Error fail(const std::string& what) const { return make_error(ErrorKind::bad_message, what); }
    Error unexpected(const std::string& expected) const
    {
        if (at_end()) return fail("expected " + expected + " at the end");
        return fail("expected " + expected + " at offset " + std::to_string(t_[i_].offset) + ", found '" +
                    t_[i_].text + "'");
    }

    // phrase / obs-phrase: words and dots ("John Q. Public").
    std::vector<const Token*> phrase()
    {
        std::vector<const Token*> words;
        while (!at_end() && (t_[i_].kind == Kind::atom || t_[i_].kind == Kind::quoted || is(".")))
            words.push_back(&t_[i_++]);
        return words;
    }

    Status address(std::vector<Mailbox>& out)
    {
        auto words = phrase();
        if (is(":")) return group(std::move(words), out);
        auto box = mailbox(std::move(words));
        if (!box) return box.error();
        out.push_back(std::move(*box));
        return {};
    }

    Status group(std::vector<const Token*> name, std::vector<Mailbox>& out)
    {
        if (name.empty()) return unexpected("a group name before ':'");
        ++i_;  // ':'
        while (!at_end() && !is(";")) {
            if (is(",")) {
                ++i_;
                continue;
            }
            auto box = mailbox(phrase());
            if (!box) return box.error();
            out.push_back(std::move(*box));
            if (!at_end() && !is(",") && !is(";")) return unexpected("',' or ';' in the group");
        }
        if (is(";")) ++i_;  // a group left open at the end is common; accept it
        return {};
    }

    // After the phrase: "<" means name-addr, "@" means the phrase was the
    // local part of a bare addr-spec.
    Result<Mailbox> mailbox(std::vector<const Token*> words)
    {
        if (is("<")) {
            ++i_;
            auto address = angle_addr();
            if (!address) return address.error();
            return Mailbox{display_name(words), std::move(*address)};
        }
        if (words.empty()) return unexpected("an address");
        auto address = addr_spec(words);
        if (!address) return address.error();
        return Mailbox{{}, std::move(*address)};
    }

    Result<std::string> angle_addr()
    {
        if (is("@")) {
            if (auto s = obs_route(); !s) return s.error();
        }
        auto words = phrase();
        if (words.empty()) return unexpected("an address after '<'");
        auto address = addr_spec(words);
        if (!address) return address.error();
        if (!is(">")) return unexpected("'>'");
        ++i_;
        return address;
    }

    // "@a.example,@b.example:" before the real address; the route is dropped.
    Status obs_route()
    {
        while (is("@") || is(",")) {
            if (is(",")) {
                ++i_;
                continue;
            }
            ++i_;
            if (auto d = domain(); !d) return d.error();
        }
        if (!is(":")) return unexpected("':' after the route");
        ++i_;
        return {};
    }

    Result<std::string> addr_spec(const std::vector<const Token*>& words)
    {
        auto local = local_part(words);
        if (!local) return local.error();
        if (!is("@")) {
            if (default_domain_.empty()) return fail("address '" + *local + "' has no domain");
            return *local + "@" + std::string(default_domain_);
        }
        ++i_;
        auto dom = domain();
        if (!dom) return dom.error();
        return *local + "@" + *dom;
    }

    // word *("." word), whitespace between them being the obsolete form.
    Result<std::string> local_part(const std::vector<const Token*>& words)
    {
        std::string local;
        bool want_word = true;
        for (const Token* w : words) {
            bool dot = w->kind == Kind::special;
            if (dot == want_word) return fail("invalid local part near offset " + std::to_string(w->offset));
            local += w->text;
            want_word = dot;
        }
        if (want_word) return fail("local part ends in '.'");
        return quote_local(local);
    }

    Result<std::string> domain()
    {
        if (!at_end() && t_[i_].kind == Kind::literal) return t_[i_++].text;
        std::string out;
        while (!at_end() && t_[i_].kind == Kind::atom) {
            out += t_[i_++].text;
            if (!is(".")) return out;
            out += '.';
            ++i_;
        }
        return unexpected("a domain");
    }

    static std::string display_name(const std::vector<const Token*>& words)
    {
        std::string out;
        for (const Token* w : words) {
            if (!out.empty() && w->space_before) out += ' ';
            out += w->text;
        }
        return out;
    }

    const std::vector<Token>& t_;
    std::string_view default_domain_;
    std::size_t i_ = 0;
};

std::string shown_value(std::string_view value) { return printable(value, 80); }

Error address_error(std::string_view value, const Error& e)
{
    return make_error(ErrorKind::bad_message, "cannot parse '" + shown_value(value) + "': " + e.message);
}

Status check_addresses(std::string_view value, const std::vector<Mailbox>& boxes)
{
    for (const auto& box : boxes)
        if (!valid_address(box.address))
            return make_error(ErrorKind::bad_message, "'" + shown_value(box.address) + "' in '" +
                                                          shown_value(value) + "' is not a valid address");
    return {};
}

bool valid_domain(std::string_view domain)
{
    if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']')
        return domain.find_first_of("[]\\ ", 1) == domain.size() - 1;
    if (domain.empty() || domain.front() == '.' || domain.back() == '.') return false;
    std::size_t label = 0;
    for (char c : domain) {
        auto u = static_cast<unsigned char>(c);
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        bool ok = u >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok || ++label > 63) return false;
    }
    return true;
}

bool valid_local(std::string_view local)
{
    if (local.size() >= 2 && local.front() == '"' && local.back() == '"') return true;
    return is_dot_atom(local);
}

}  // namespace

bool valid_address(std::string_view address)
{
    if (address.empty() || address.size() > 254 || !valid_utf8(address)) return false;
    for (char c : address)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    auto at = address.rfind('@');
    if (at == std::string_view::npos || at == 0 || at > 64) return false;
    return valid_local(address.substr(0, at)) && valid_domain(address.substr(at + 1));
}

Result<std::vector<Mailbox>> parse_mailbox_list(std::string_view value, std::string_view default_domain)
{
    auto tokens = Tokenizer(value).run();
    if (!tokens) return address_error(value, tokens.error());
    auto boxes = AddressParser(*tokens, default_domain).address_list();
    if (!boxes) return address_error(value, boxes.error());
    if (auto s = check_addresses(value, *boxes); !s) return s.error();
    return boxes;
}

Result<std::vector<std::string>> parse_address_list(std::string_view value, std::string_view default_domain)
{
    auto boxes = parse_mailbox_list(value, default_domain);
    if (!boxes) return boxes.error();
    std::vector<std::string> out;
    out.reserve(boxes->size());
    for (auto& box : *boxes) out.push_back(std::move(box.address));
    return out;
}

Result<std::string> parse_mailbox(std::string_view text, bool allow_null, std::string_view default_domain)
{
    auto tokens = Tokenizer(text).run();
    if (!tokens) return address_error(text, tokens.error());
    auto box = AddressParser(*tokens, default_domain).single(allow_null);
    if (!box) return address_error(text, box.error());
    if (!*box) return std::string();
    std::vector<Mailbox> one{**box};
    if (auto s = check_addresses(text, one); !s) return s.error();
    return one.front().address;
}

}  // namespace mailqd
