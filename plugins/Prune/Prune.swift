// plugins/Prune: structured channel pruning (issue 8). Sources land beside this file.
