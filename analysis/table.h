// The tables `advlab analyze` prints, in one structure and four formats: an
// aligned text table, CSV (RFC 4180), Markdown and JSON. A cell carries both its
// display text and its full-precision fields, so CSV and JSON are exact (%.17g,
// round-trip) while the text and Markdown tables stay readable. A CI cell is one
// display column, "mean [lo, hi]" with the numbers aligned down the column, and
// three CSV/JSON fields (<name>, <name>_lo, <name>_hi).
#ifndef ADVLAB_ANALYSIS_TABLE_H_
#define ADVLAB_ANALYSIS_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace advlab {

// One value of a field: a number (NaN is written as an empty CSV field and JSON
// null), an integer, or a string.
struct Field {
  enum class Kind { kNumber, kInt, kString };
  Kind kind = Kind::kString;
  double number = 0;
  int64_t integer = 0;
  std::string text;
};

struct Cell {
  // Display: either `text`, or (ci) the three strings aligned as "m [lo, hi]".
  std::string text;
  bool ci = false;
  std::string m, lo, hi;
  std::vector<Field> fields;   // one per field name of the column
};

struct TableColumn {
  std::string header;                 // display header
  std::vector<std::string> fields;    // CSV/JSON field names, e.g. {"mean", "mean_lo", "mean_hi"}
  bool right = false;                 // right-align in text tables
};

struct Table {
  std::string name;    // JSON key and CSV identity: "summary", "comparison", ...
  std::string title;   // one line above the text and Markdown tables
  std::vector<TableColumn> columns;
  std::vector<std::vector<Cell>> rows;  // each row has columns.size() cells
  std::vector<std::string> notes;       // lines printed under the table (text, md)
};

// printf of one double ("%.3f", "%g") and an int64 in decimal.
std::string FormatDouble(const char* fmt, double v);
std::string IntString(int64_t v);

// Cell builders. `fmt` is a printf format for one double ("%.3f").
Cell TextCell(const std::string& s);
Cell IntCell(int64_t v);
// `missing` is shown when v is NaN.
Cell NumberCell(double v, const char* fmt, const std::string& missing = "-");
// "m [lo, hi]"; `prefix` goes before m (">=" for a censored lower bound). When m
// is NaN the cell shows `missing`; when only the interval is NaN it shows
// "m [undefined]" (one seed: no CI).
Cell CiCell(double m, double lo, double hi, const char* fmt, const std::string& missing = "-",
            const std::string& prefix = "");
// A column for CiCell: fields {name, name_lo, name_hi}.
TableColumn CiColumn(const std::string& header, const std::string& name);

std::string FormatText(const Table& t);
std::string FormatMarkdown(const Table& t);
// Header line of field names, then one line per row. Numbers %.17g, NaN empty.
std::string FormatCsv(const Table& t);

// Minimal JSON writing (objects are written by the caller in a fixed order).
std::string JsonString(const std::string& s);
std::string JsonNumber(double v);          // %.17g; NaN and inf as null
std::string JsonNumbers(const std::vector<double>& v);  // [a, b, ...]
// {"name": ..., "title": ..., "rows": [{field: value, ...}, ...], "notes": [...]}
std::string TableJson(const Table& t);

}  // namespace advlab

#endif  // ADVLAB_ANALYSIS_TABLE_H_
