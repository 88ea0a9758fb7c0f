"""The page builder: the list of pages and one page's workspace (`workspace`), editing its
blocks (`blocks`) through their forms (`forms`), and the live preview (`preview`)."""
