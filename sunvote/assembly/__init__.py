"""Assembly pages: meetings, the meeting room (attendance, polls, ballots, paper), the hall
screen."""
