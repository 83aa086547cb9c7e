// Recovery: an embedded (PGlite) hub folder copied back from a backup. The hub keeps a random value in
// its database and the same value in a file beside the folder, and changes both at every start and
// stop; a folder whose value is not the file's was copied in from another time, and the feed gets a
// new epoch (hub/feed/identity.ts noteFolderGeneration).
export const sql = `
ALTER TABLE hub_identity ADD COLUMN folder_generation text
`;
