#pragma once
// pods/log routed to the pod's kubelet, as kube-apiserver does: the Node's InternalIP (else its
// first address) and status.daemonEndpoints.kubeletEndpoint.Port, HTTPS with the master's client
// certificate, GET /containerLogs/NS/POD/CONTAINER?follow&tailLines&…, the body streamed back;
// and the streaming subresources (exec, attach, portforward) upgraded and relayed.

#include <map>
#include <string>

#include "master/server/http.hpp"

namespace skiff::master {

struct KubeletClientConfig {
  std::string cert_file, key_file;  // the client certificate the master presents to kubelets
};

// Opens the request to the kubelet at host:port (path with query) and returns the response whose
// body streams from the kubelet; a connection failure is a 502-style error text.
HttpResponse proxy_to_kubelet(const KubeletClientConfig& config, const std::string& host,
                              uint16_t port, const std::string& path_and_query);

// exec, attach, port-forward (kube-apiserver's UpgradeAwareHandler): a response that takes the
// client's connection over, sends `method path_and_query` with the client's Upgrade and
// X-Stream-Protocol-Version headers to the kubelet over TLS with the master's client
// certificate, relays the kubelet's answer (101 or an error), and after a 101 copies bytes both
// ways until either side closes.
HttpResponse upgrade_to_kubelet(const KubeletClientConfig& config, const std::string& host,
                                uint16_t port, const std::string& method,
                                const std::string& path_and_query,
                                const std::map<std::string, std::string>& headers);

}  // namespace skiff::master
