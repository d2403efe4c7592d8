"""Money use cases, one module each: order, verify, invoice (success), refund, and the money side
of the booking commands (booking_money). They share `context.MoneyContext`."""
