"""The box office domain: reservations, sales, payments, audit. No UI, no printer."""
