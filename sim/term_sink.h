// TermArrays: the exact gradient's terms (state, action, coefficient) written
// into caller-provided fixed arrays — the sink the families' host/device oracle
// functions (ChainSuccessGradientTerms, ThinkSuccessGradient, ...) write to in
// device code. Any type with Add(state, action, coef) is a sink; on the host
// GradientTerms (sim/task.h) is one.
#ifndef ADVLAB_SIM_TERM_SINK_H_
#define ADVLAB_SIM_TERM_SINK_H_

#include <cstdint>

#include "sim/check.h"
#include "sim/features.h"

namespace advlab {

struct TermArrays {
  int32_t* state = nullptr;   // [capacity] decision state of each term
  int32_t* action = nullptr;  // [capacity] action
  double* coef = nullptr;     // [capacity] coefficient of grad log pi(action | state)
  int32_t count = 0;          // terms written
  int32_t capacity = 0;

  ADVLAB_HD void Add(int32_t s, int32_t a, double c) {
    ADVLAB_HD_CHECK(count < capacity);
    state[count] = s;
    action[count] = a;
    coef[count] = c;
    ++count;
  }
};

}  // namespace advlab

#endif  // ADVLAB_SIM_TERM_SINK_H_
