"""Reading an uploaded zip archive that may have been crafted to hurt us.

The central directory is parsed here, not by ``zipfile``, so that nothing is held in memory
before the entry count is known to be within the limit, and so that every field that decides
what is read is one we checked: names (no escaping paths, no control characters), file types
(no symlinks), encryption, compression method, declared sizes and ratios, and the layout of
the entries' data (no two entries sharing bytes, the trick of non-recursive zip bombs). Entries
are inflated here too, stopping as soon as one produces more than its header declared.
"""

from datasets.archives.directory import MAX_NAME_BYTES
from datasets.archives.safe_zip import MANIFEST_FORMATS, ArchiveEntry, SafeZip

__all__ = ["MANIFEST_FORMATS", "MAX_NAME_BYTES", "ArchiveEntry", "SafeZip"]
