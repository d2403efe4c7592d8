"""Booking use cases, one module each: hold, confirm, direct create, change (reschedule, cancel,
status edit), and the scheduler's expiry, completion and reminders. They share `context.BookingContext`
(loading and the slot check) and reach the money side through the `BookingMoney` port."""
