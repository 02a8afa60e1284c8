"""Moving tasks in and out: this project's JSON export, Todoist's CSV export and iCalendar VTODO.

readers.py turns a file into drafts (one per task, with the row it came from); importing.py
creates them through the service layer, all or nothing; exporting.py writes the JSON export.
"""
