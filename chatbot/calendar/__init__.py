"""School calendar: semesters, vacations, official holidays and make-up working days (调休)."""
