#include "storage/s3/s3_xml.h"

#include <cstdlib>
#include <stdexcept>

#include "base/time_util.h"
#include "storage/uri_encoding.h"

namespace ltxvfs::storage::s3xml {
namespace {

// The raw contents of each <tag ...>...</tag> (or <tag/>) in `xml`, in document order. S3's
// documents never nest an element inside one of the same name, which this relies on.
std::vector<std::string_view> elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    const size_t after_name = pos + open.size();
    if (after_name >= xml.size()) break;
    const char next = xml[after_name];
    if (next != '>' && next != '/' && next != ' ' && next != '\t' && next != '\r' && next != '\n') {
      pos = after_name;  // a longer name, e.g. <KeyCount> while looking for <Key>
      continue;
    }
    const size_t open_end = xml.find('>', after_name);
    if (open_end == std::string_view::npos) throw std::runtime_error("unterminated <" + open);
    if (xml[open_end - 1] == '/') {
      out.emplace_back();
      pos = open_end + 1;
      continue;
    }
    const size_t end = xml.find(close, open_end + 1);
    if (end == std::string_view::npos) throw std::runtime_error("missing " + close);
    out.push_back(xml.substr(open_end + 1, end - open_end - 1));
    pos = end + close.size();
  }
  return out;
}

std::optional<std::string> text_of(std::string_view xml, std::string_view tag) {
  auto found = elements(xml, tag);
  if (found.empty()) return std::nullopt;
  return unescape(found.front());
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    throw std::runtime_error("character reference out of range");
  }
}

}  // namespace

bool representable_in_xml(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && u != '\t' && u != '\n' && u != '\r') return false;
  }
  return true;
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      // Escaped so that XML's line-end normalisation cannot turn "\r\n" in a key into "\n".
      case '\r':
        out += "&#13;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string unescape(std::string_view text) {
  static constexpr std::string_view kCdataOpen = "<![CDATA[";
  if (text.substr(0, kCdataOpen.size()) == kCdataOpen && text.size() >= kCdataOpen.size() + 3 &&
      text.substr(text.size() - 3) == "]]>") {
    return std::string(text.substr(kCdataOpen.size(), text.size() - kCdataOpen.size() - 3));
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    const size_t semi = text.find(';', i);
    if (semi == std::string_view::npos) throw std::runtime_error("unterminated XML entity");
    const std::string_view entity = text.substr(i + 1, semi - i - 1);
    if (entity == "amp")
      out.push_back('&');
    else if (entity == "lt")
      out.push_back('<');
    else if (entity == "gt")
      out.push_back('>');
    else if (entity == "quot")
      out.push_back('"');
    else if (entity == "apos")
      out.push_back('\'');
    else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string digits(entity.substr(hex ? 2 : 1));
      char* end = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0') throw std::runtime_error("bad character reference");
      append_utf8(out, cp);
    } else {
      throw std::runtime_error("unknown XML entity &" + std::string(entity) + ";");
    }
    i = semi;
  }
  return out;
}

std::optional<ErrorInfo> parse_error(std::string_view xml) {
  try {
    auto error = elements(xml, "Error");
    if (error.empty()) return std::nullopt;
    ErrorInfo info;
    info.code = text_of(error.front(), "Code").value_or("");
    info.message = text_of(error.front(), "Message").value_or("");
    info.endpoint = text_of(error.front(), "Endpoint").value_or("");
    if (info.code.empty()) return std::nullopt;
    return info;
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
}

ListPage parse_list_objects_v2(std::string_view xml) {
  if (elements(xml, "ListBucketResult").empty()) {
    throw std::runtime_error("not a ListBucketResult document");
  }
  ListPage page;
  const bool url_encoded = text_of(xml, "EncodingType").value_or("") == "url";
  page.truncated = text_of(xml, "IsTruncated").value_or("false") == "true";
  page.next_continuation_token = text_of(xml, "NextContinuationToken").value_or("");
  for (std::string_view entry : elements(xml, "Contents")) {
    ObjectInfo info;
    auto key = text_of(entry, "Key");
    if (!key) throw std::runtime_error("<Contents> without <Key>");
    if (url_encoded) {
      // S3 form-encodes (space as '+'); '+' itself then arrives as %2B.
      auto decoded = percent_decode(*key, true);
      if (!decoded) throw std::runtime_error("bad URL encoding in <Key>");
      key = decoded;
    }
    info.key = *key;
    const std::string size = text_of(entry, "Size").value_or("0");
    char* end = nullptr;
    info.size = std::strtoull(size.c_str(), &end, 10);
    if (size.empty() || *end != '\0') throw std::runtime_error("bad <Size> " + size);
    info.etag = text_of(entry, "ETag").value_or("");
    if (auto modified = text_of(entry, "LastModified")) {
      info.last_modified_ms = base::parse_iso8601_ms(*modified).value_or(0);
    }
    page.objects.push_back(std::move(info));
  }
  if (page.truncated && page.next_continuation_token.empty()) {
    throw std::runtime_error("truncated listing without <NextContinuationToken>");
  }
  return page;
}

std::vector<DeleteFailure> parse_delete_result(std::string_view xml) {
  if (elements(xml, "DeleteResult").empty()) throw std::runtime_error("not a DeleteResult");
  std::vector<DeleteFailure> failures;
  for (std::string_view entry : elements(xml, "Error")) {
    failures.push_back({text_of(entry, "Key").value_or(""), text_of(entry, "Code").value_or(""),
                        text_of(entry, "Message").value_or("")});
  }
  return failures;
}

std::string delete_request_body(const std::vector<std::string>& keys) {
  std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>";
  for (const auto& key : keys) body += "<Object><Key>" + escape(key) + "</Key></Object>";
  body += "</Delete>";
  return body;
}

}  // namespace ltxvfs::storage::s3xml
