// UserError: bad input from the user (a key, a value, a file). Its message is one
// line naming the key or file, what was wrong and what is allowed; the CLI prints
// it as "advlab: error: <message>" and exits with status 2.
#ifndef ADVLAB_SIM_ERROR_H_
#define ADVLAB_SIM_ERROR_H_

#include <stdexcept>
#include <string>

namespace advlab {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace advlab

#endif  // ADVLAB_SIM_ERROR_H_
