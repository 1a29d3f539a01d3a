// Content-Type from a file name's extension, for attachments and inline
// images. A short table of what people mail; anything else is
// application/octet-stream, which every client offers to save.
#include <array>
#include <utility>

#include "spool/message_text.hpp"
#include "spool/mime/mime_builder.hpp"

namespace mailqd {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 62> types{{
    {"txt", "text/plain"},
    {"text", "text/plain"},
    {"log", "text/plain"},
    {"md", "text/markdown"},
    {"csv", "text/csv"},
    {"tsv", "text/tab-separated-values"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"css", "text/css"},
    {"ics", "text/calendar"},
    {"vcf", "text/vcard"},
    {"xml", "application/xml"},
    {"json", "application/json"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"js", "text/javascript"},
    {"patch", "text/x-diff"},
    {"diff", "text/x-diff"},
    {"eml", "message/rfc822"},
    {"pdf", "application/pdf"},
    {"rtf", "application/rtf"},
    {"ps", "application/postscript"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"epub", "application/epub+zip"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tgz", "application/gzip"},
    {"bz2", "application/x-bzip2"},
    {"xz", "application/x-xz"},
    {"zst", "application/zstd"},
    {"7z", "application/x-7z-compressed"},
    {"tar", "application/x-tar"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"svg", "image/svg+xml"},
    {"bmp", "image/bmp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"heic", "image/heic"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"flac", "audio/flac"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mov", "video/quicktime"},
    {"avi", "video/x-msvideo"},
    {"pem", "application/x-pem-file"},
    {"asc", "application/pgp-signature"},
    {"sig", "application/pgp-signature"},
}};

}  // namespace

std::string_view content_type_for(std::string_view file_name)
{
    auto dot = file_name.rfind('.');
    if (dot == std::string_view::npos || dot + 1 == file_name.size()) return "application/octet-stream";
    std::string ext = ascii_lowercase(file_name.substr(dot + 1));
    for (const auto& [e, type] : types)
        if (e == ext) return type;
    return "application/octet-stream";
}

}  // namespace mailqd
