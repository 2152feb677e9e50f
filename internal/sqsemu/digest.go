package sqsemu

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// attrValue is a message attribute as the JSON protocol carries it
// (BinaryValue is base64 in JSON; encoding/json decodes it into bytes).
type attrValue struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// isBinary is whether the attribute's data type is Binary (or Binary.x).
func (a attrValue) isBinary() bool {
	return a.DataType == "Binary" || strings.HasPrefix(a.DataType, "Binary.")
}

// md5Hex is the hex MD5 of s, SQS's MD5OfMessageBody.
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes is SQS's MD5OfMessageAttributes: over the attributes
// sorted by name, each as its name, its data type (both length-prefixed,
// 4 bytes big-endian), a transport byte (1 string or number, 2 binary) and
// its length-prefixed value. "" for no attributes.
func md5OfAttributes(attrs map[string]attrValue) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	field := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint32(len(b)))
		h.Write(b)
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		a := attrs[name]
		field([]byte(name))
		field([]byte(a.DataType))
		if a.isBinary() {
			h.Write([]byte{2})
			field(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			field([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// handle is a decoded receipt handle: the queue, the message's sequence
// number in it, and which receive of the message it came from.
type handle struct {
	queue   string
	seq     uint64
	receive int
}

var errBadHandle = errors.New("malformed receipt handle")

// encodeHandle is the receipt handle of the receive-th receive of message
// seq of the named queue.
func encodeHandle(queue string, seq uint64, receive int) string {
	raw := queue + "\x00" + strconv.FormatUint(seq, 10) + "\x00" + strconv.Itoa(receive)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeHandle(s string) (handle, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return handle{}, errBadHandle
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return handle{}, errBadHandle
	}
	seq, err1 := strconv.ParseUint(parts[1], 10, 64)
	n, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || parts[0] == "" {
		return handle{}, errBadHandle
	}
	return handle{queue: parts[0], seq: seq, receive: n}, nil
}
