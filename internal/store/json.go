package store

import (
	"encoding/json"
	"fmt"
)

// GetJSON decodes the value at key into v. It reports false, with v
// untouched, when the key does not exist.
func GetJSON(tx ReadTx, key string, v any) (bool, error) {
	kv, ok := tx.Get(key)
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return true, fmt.Errorf("store: decode %s: %w", key, err)
	}
	return true, nil
}

// PutJSON stores v encoded as JSON at key.
func PutJSON(tx Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", key, err)
	}
	tx.Put(key, b)
	return nil
}
