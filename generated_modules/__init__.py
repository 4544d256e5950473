"""Generated Python modules compiled from rules/ (see `lmpredict compile`)."""
