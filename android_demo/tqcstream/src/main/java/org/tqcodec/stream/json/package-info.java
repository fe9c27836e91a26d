/** JSON for manifests and test vectors: org.json (Android's platform parser) turned into plain values. */
package org.tqcodec.stream.json;
