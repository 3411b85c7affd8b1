// This file implements the one ZeroKMS call stack-auth makes: device client binding,
// POST {zerokms}/create-client (docs/protocol.md 2.8, 7.3).

package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

type createClientRequest struct {
	KeysetID    *string `json:"keyset_id"` // null = the workspace's default keyset
	Name        string  `json:"name"`
	Description string  `json:"description"`
}

type createClientResponse struct {
	ID          string `json:"id"`
	DatasetID   string `json:"dataset_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	ClientKey   string `json:"client_key"`
}

func (s *Server) handleCreateClient(w http.ResponseWriter, r *http.Request) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="zerokms"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "a bearer access token is required")
		return
	}
	claims, err := s.verify(strings.TrimSpace(raw))
	if err != nil || !s.workspaceExists(claims.Workspace) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="zerokms", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "the access token is invalid or expired")
		return
	}
	var req createClientRequest
	if !readJSON(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "name is required")
		return
	}
	if req.KeysetID != nil {
		if _, err := uuid.Parse(*req.KeysetID); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "keyset_id must be a UUID or null")
			return
		}
	}

	s.mu.Lock()
	ws := s.workspaces[claims.Workspace]
	if ws.clients[req.Name] {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "conflict", "a client with this name already exists")
		return
	}
	ws.clients[req.Name] = true
	dataset := ws.datasetID
	s.mu.Unlock()
	if req.KeysetID != nil {
		dataset = *req.KeysetID
	}

	key := make([]byte, 64)
	_, _ = rand.Read(key)
	s.log.Info("client created", "workspace", claims.Workspace)
	writeJSON(w, http.StatusOK, createClientResponse{
		ID:          newUUID(),
		DatasetID:   dataset,
		Name:        req.Name,
		Description: req.Description,
		ClientKey:   base64.StdEncoding.EncodeToString(key),
	})
}
