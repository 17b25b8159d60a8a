#include "api/selector.hpp"

#include <algorithm>

#include "api/meta.hpp"
#include "common/strings.hpp"

namespace skiff::api {

namespace {

// Splits on commas outside parentheses.
std::vector<std::string> split_terms(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') depth++;
    if (c == ')') depth--;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

Result<void> check_key(const std::string& key, std::string_view term) {
  std::string why = check_qualified_name(key);
  if (!why.empty())
    return error("invalid label key ", json_quote(key), " in ", quote(term), ": ", why);
  return ok();
}

Result<void> check_value(const std::string& value, std::string_view term) {
  std::string why = check_label_value(value);
  if (!why.empty())
    return error("invalid label value ", json_quote(value), " in ", quote(term), ": ", why);
  return ok();
}

bool is_word_boundary(std::string_view s, size_t pos) {
  return pos < s.size() && (s[pos] == ' ' || s[pos] == '(');
}

}  // namespace

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  LabelSelector sel;
  if (trim(text).empty()) return sel;
  for (const auto& raw : split_terms(text)) {
    std::string_view term = trim(raw);
    if (term.empty()) return error("invalid label selector ", quote(text), ": empty term");
    Requirement r;
    size_t pos;
    if (term[0] == '!') {
      r.key = std::string(trim(term.substr(1)));
      r.op = Requirement::Op::kDoesNotExist;
      TRY(check_key(r.key, term));
    } else if ((pos = term.find("!=")) != std::string_view::npos) {
      r.key = std::string(trim(term.substr(0, pos)));
      r.op = Requirement::Op::kNotEquals;
      r.values.emplace_back(trim(term.substr(pos + 2)));
    } else if ((pos = term.find("==")) != std::string_view::npos) {
      r.key = std::string(trim(term.substr(0, pos)));
      r.values.emplace_back(trim(term.substr(pos + 2)));
    } else if ((pos = term.find('=')) != std::string_view::npos) {
      r.key = std::string(trim(term.substr(0, pos)));
      r.values.emplace_back(trim(term.substr(pos + 1)));
    } else {
      size_t sp = term.find_first_of(" (");
      std::string_view key = trim(term.substr(0, sp));
      std::string_view rest = sp == std::string_view::npos ? "" : trim(term.substr(sp));
      r.key = std::string(key);
      if (rest.empty()) {
        r.op = Requirement::Op::kExists;
      } else {
        std::string_view list;
        if (rest.substr(0, 2) == "in" && is_word_boundary(rest, 2)) {
          r.op = Requirement::Op::kIn;
          list = trim(rest.substr(2));
        } else if (rest.substr(0, 5) == "notin" && is_word_boundary(rest, 5)) {
          r.op = Requirement::Op::kNotIn;
          list = trim(rest.substr(5));
        } else {
          return error("invalid label selector ", quote(term),
                       ": expected one of =, ==, !=, in, notin after the key");
        }
        if (list.size() < 2 || list.front() != '(' || list.back() != ')')
          return error("invalid label selector ", quote(term),
                       ": the values of in/notin must be in parentheses");
        for (const auto& v : split(list.substr(1, list.size() - 2), ','))
          r.values.emplace_back(trim(v));
        if (r.values.empty() || (r.values.size() == 1 && r.values[0].empty()))
          return error("invalid label selector ", quote(term), ": in/notin need values");
      }
    }
    TRY(check_key(r.key, term));
    for (const auto& v : r.values) TRY(check_value(v, term));
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

Result<LabelSelector> LabelSelector::from_json(const Json& selector) {
  LabelSelector sel;
  if (selector.is_null()) return sel;
  if (!selector.is_object()) return error("selector: expected an object");
  if (auto it = selector.find("matchLabels"); it != selector.end() && it->is_object())
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return error("selector.matchLabels.", k, ": expected a string");
      sel.reqs_.push_back({k, Requirement::Op::kEquals, {v.get<std::string>()}});
    }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && it->is_array())
    for (const auto& e : *it) {
      Requirement r;
      r.key = e.value("key", "");
      std::string op = e.value("operator", "");
      if (op == "In")
        r.op = Requirement::Op::kIn;
      else if (op == "NotIn")
        r.op = Requirement::Op::kNotIn;
      else if (op == "Exists")
        r.op = Requirement::Op::kExists;
      else if (op == "DoesNotExist")
        r.op = Requirement::Op::kDoesNotExist;
      else
        return error("selector.matchExpressions: unknown operator ", json_quote(op));
      if (auto vs = e.find("values"); vs != e.end() && vs->is_array())
        for (const auto& v : *vs)
          if (v.is_string()) r.values.push_back(v.get<std::string>());
      sel.reqs_.push_back(std::move(r));
    }
  return sel;
}

static bool match_one(const Requirement& r, bool has, const std::string& value) {
  using Op = Requirement::Op;
  auto in = [&] { return std::find(r.values.begin(), r.values.end(), value) != r.values.end(); };
  switch (r.op) {
    case Op::kEquals:
      return has && value == r.values[0];
    case Op::kNotEquals:
      return !has || value != r.values[0];
    case Op::kIn:
      return has && in();
    case Op::kNotIn:
      return !has || !in();
    case Op::kExists:
      return has;
    case Op::kDoesNotExist:
      return !has;
  }
  return false;
}

bool LabelSelector::matches(const Json& labels) const {
  for (const auto& r : reqs_) {
    bool has = false;
    std::string value;
    if (labels.is_object()) {
      auto it = labels.find(r.key);
      if (it != labels.end() && it->is_string()) {
        has = true;
        value = it->get<std::string>();
      }
    }
    if (!match_one(r, has, value)) return false;
  }
  return true;
}

Result<FieldSelector> FieldSelector::parse(std::string_view text) {
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  for (const auto& raw : split(text, ',')) {
    std::string_view term = trim(raw);
    Requirement r;
    size_t pos;
    if ((pos = term.find("!=")) != std::string_view::npos) {
      r.op = Requirement::Op::kNotEquals;
      r.key = std::string(trim(term.substr(0, pos)));
      r.values.emplace_back(trim(term.substr(pos + 2)));
    } else if ((pos = term.find("==")) != std::string_view::npos) {
      r.key = std::string(trim(term.substr(0, pos)));
      r.values.emplace_back(trim(term.substr(pos + 2)));
    } else if ((pos = term.find('=')) != std::string_view::npos) {
      r.key = std::string(trim(term.substr(0, pos)));
      r.values.emplace_back(trim(term.substr(pos + 1)));
    } else {
      return error("invalid field selector ", quote(term),
                   ": expected field=value or field!=value");
    }
    if (r.key.empty()) return error("invalid field selector ", quote(term), ": empty field name");
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

std::string field_value(const Json& object, std::string_view dotted_path) {
  const Json* cur = &object;
  for (const auto& part : split(dotted_path, '.')) {
    if (!cur->is_object()) return "";
    auto it = cur->find(part);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_null() || cur->is_object() || cur->is_array()) return "";
  return cur->dump();
}

bool FieldSelector::matches(const Json& object) const {
  for (const auto& r : reqs_) {
    std::string v = field_value(object, r.key);
    if (!match_one(r, true, v)) return false;
  }
  return true;
}

const std::string* FieldSelector::equals_value(std::string_view field) const {
  for (const auto& r : reqs_)
    if (r.op == Requirement::Op::kEquals && r.key == field) return &r.values[0];
  return nullptr;
}

}  // namespace skiff::api
