// Accounts that only hold: a snapshot's accounts that follow no strategy keep
// their positions until a liquidation closes them. They are never due and make
// no decision, so they have no parameters.
#pragma once

namespace deleverage::populations {

struct HoldParams {
  bool operator==(const HoldParams&) const = default;
};

}  // namespace deleverage::populations
