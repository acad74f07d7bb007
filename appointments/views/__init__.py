"""Pages of step 1: `staff` (board, booking, calls), `settings` (opening hours, holidays,
campaigns), `self_service` (the customer's own booking, no log-in); `common` what they share."""
