/** A minimal strict JSON parser for manifests and test vectors (no dependencies). */
package org.tqcodec.stream.json;
