"""Administration pages: district (townships), township (villages, settings), village register."""
