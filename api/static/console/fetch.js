// Fetching shared data: filled in with the department's pages.
export function setUpFetch(_box) {}
