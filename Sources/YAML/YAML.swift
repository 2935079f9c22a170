// Placeholder: the YAML module is being written (issue 3).
import KubeCore
