"""X bookmarks (beta): sync a user's X bookmarks, search and export them, keep their media.

- `access`: the Premium gate, the per-user flag, the user's X connection and sync state.
- `query`: the list/export parameters and their rules; `listing`: list, get, export (search on
  both engines, see `postpost.db.search`); `quota`: the monthly insert quota.
- `sync`: one sync (resumes from the stored pagination token), shared by the API and the job.
- `user`: settings, media stats, sync history. `downloads`: media into the media storage.
- `jobs`: the scheduled auto-sync and the media downloader, run by the workers.
"""
