"""Cloud voting pages: enrolled phones, invitations; the phone's enrol, join, vote, receipt."""
